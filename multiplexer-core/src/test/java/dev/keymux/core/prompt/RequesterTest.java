package dev.keymux.core.prompt;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Peer;
import dev.keymux.core.agent.Session;
import dev.keymux.core.agent.SessionBinding;
import dev.keymux.core.keys.Fingerprints;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The one wording of confirm prompts and notifications: key, client, destination, socket. */
class RequesterTest {
  static final KeyBlob HOST = new KeyBlob(new byte[] {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9'});

  private static Session session(String socket, SessionBinding... bindings) {
    Session s = new Session(new Peer(ProcessHandle.current().pid(), 0, 0, socket));
    for (SessionBinding b : bindings) {
      s.addBinding(b);
    }
    return s;
  }

  private static SessionBinding binding(boolean forwarding) {
    return new SessionBinding(HOST, new byte[] {1}, forwarding, new byte[0]);
  }

  @Test
  void withoutAPolicyTheClientIsItsExecutableAndTheHostItsKey() {
    String me = ProcessHandle.current().info().command().orElseThrow();
    Requester r = Requester.basic(session(Peer.MAIN_SOCKET, binding(false)));
    assertEquals(me + " (pid " + ProcessHandle.current().pid() + ") for the host with key "
        + Fingerprints.sha256(HOST.bytes()) + " (no name for it in known_hosts)", r.requestedBy());
  }

  @Test
  void theQuestionNamesKeyFingerprintClientDestinationForwardingAndSocket() {
    Requester r = Requester.of(session("container", binding(false), binding(true)), "/usr/bin/git (pid 9)",
        host -> List.of("github.com", "140.82.121.3"));
    assertEquals("Allow use of key deploy?\nKey fingerprint SHA256:k.\n"
        + "Requested by /usr/bin/git (pid 9) for github.com, 140.82.121.3 through agent forwarding through socket container.",
        r.confirmQuestion(List.of("deploy", "deploy", ""), "SHA256:k"));
  }

  @Test
  void noDestinationAndNoCommentAreSaid() {
    Requester r = Requester.of(session(Peer.MAIN_SOCKET), Requester.describeClient("", -1), host -> List.of("unused"));
    assertEquals("Allow use of key SHA256:k?\nKey fingerprint SHA256:k.\nRequested by unknown client (destination unknown).",
        r.confirmQuestion(List.of(), "SHA256:k"));
  }

  @Test
  void controlCharactersInNamesCannotRewriteTheQuestion() {
    // A process names itself (prctl PR_SET_NAME, argv[0]); escape sequences, CR and C1 controls must not reach a terminal.
    String client = "ssh\r\u001b[2K\u001b[1AAllow use of key harmless?\u009b2J\u007f (pid 9)";
    Requester r = Requester.of(session("sock\u001b]0;x\u0007", binding(false)), client, host -> List.of("evil\nhost"));
    String q = r.confirmQuestion(List.of("key\u001b[8m"), "SHA256:k");
    assertEquals("Allow use of key key?[8m?\nKey fingerprint SHA256:k.\n"
        + "Requested by ssh??[2K?[1AAllow use of key harmless??2J? (pid 9) for evil?host through socket sock?]0;x?.", q);
    assertEquals(2, q.chars().filter(c -> c == '\n').count(), "only the question's own line feeds are left");
    assertTrue(q.chars().noneMatch(c -> (c < 0x20 && c != '\n') || (c >= 0x7f && c <= 0x9f)), q);
  }

  @Test
  void printableKeepsLineFeedsOnlyWhenAskedAndLeavesOtherTextAlone() {
    assertEquals("a\nb?c?d", Requester.printable("a\nb\tc\u0085d", true));
    assertEquals("a?b", Requester.printable("a\nb", false));
    assertEquals("Grüße – ok", Requester.printable("Grüße – ok", false));
  }

  @Test
  void manyHostNamesAreCountedNotListed() {
    List<String> names = java.util.stream.IntStream.rangeClosed(1, 40).mapToObj(i -> "host" + i + ".example").toList();
    Requester r = Requester.of(session(Peer.MAIN_SOCKET, binding(false)), "ssh (pid 9)", host -> names);
    assertEquals("host1.example, host2.example, host3.example, host4.example, host5.example and 35 more", r.destination());
  }

  @Test
  void notificationBodiesEscapeMarkup() {
    assertEquals("a &lt;b&gt;x&lt;/b&gt; &amp;amp; c", SignNotifier.markupEscaped("a <b>x</b> &amp; c"));
  }

  @Test
  void aLongPinentryDescriptionIsCutToFitOneAssuanLine() {
    String question = "Allow use of key k?\nRequested by ssh for " + "h%ö.example, ".repeat(200);
    String line = "SETDESC " + Pinentry.escapeWithin(question, Pinentry.MAX_LINE - "SETDESC \n".length()) + "\n";
    int bytes = line.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    assertTrue(bytes <= Pinentry.MAX_LINE && bytes > Pinentry.MAX_LINE - 10, "fills the line without passing it: " + bytes);
    assertTrue(line.startsWith("SETDESC Allow use of key k?%0ARequested by ssh for h%25ö.example"), line);
    assertTrue(line.endsWith("…\n"), line);
    assertEquals("short %25", Pinentry.escapeWithin("short %", 100), "what fits is only escaped");
  }
}
