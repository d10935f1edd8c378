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
}
