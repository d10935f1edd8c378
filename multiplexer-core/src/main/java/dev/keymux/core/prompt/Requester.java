package dev.keymux.core.prompt;

import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Peer;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keys.Fingerprints;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.function.Function;

/**
 * Who wants a key and where to, in the words the user reads: the client program, the host it is
 * logging in to, whether through agent forwarding, and the socket. Every confirm prompt (keys
 * added with {@code ssh-add -c}, tokens added with {@code ssh-add -s -c}, policy {@code confirm}
 * rules) and every sign notification is worded here, so they all read the same.
 *
 * @param pid the client's pid, -1 when unknown (a terminal prompt appears on its terminal)
 * @param client the client's executable and pid, as {@link #describeClient} words it
 * @param destination the host names of the server the client logs in to, a host key fingerprint
 *     when no name is known, or "" when the client named no server
 */
public record Requester(long pid, String client, String destination, boolean forwarded, String socket) {
  /** Host names shown for a destination; more are counted, not listed, so a question stays short. */
  static final int MAX_HOST_NAMES = 5;

  /**
   * Names come from the client (its executable's name is settable by the process), from
   * known_hosts and from configuration: their control characters are replaced, so that none can
   * rewrite the question on a terminal.
   */
  public Requester {
    client = printable(client, false);
    destination = printable(destination, false);
    socket = printable(socket, false);
  }

  /**
   * The requester of {@code session}, naming its client {@code client} and its destination's host
   * key through {@code hostNames} (known_hosts; an empty list when none is known).
   */
  public static Requester of(Session session, String client, Function<KeyBlob, List<String>> hostNames) {
    KeyBlob host = session.destinationHostKey();
    String destination = "";
    if (host != null) {
      List<String> names = hostNames.apply(host);
      destination = names.isEmpty()
          ? "the host with key " + Fingerprints.sha256(host.bytes()) + " (no name for it in known_hosts)"
          : names.size() <= MAX_HOST_NAMES ? String.join(", ", names)
          : String.join(", ", names.subList(0, MAX_HOST_NAMES)) + " and " + (names.size() - MAX_HOST_NAMES) + " more";
    }
    return new Requester(session.peer().pid(), client, destination, session.forwarded(), session.peer().socketName());
  }

  /**
   * What keymux knows without a policy: the client's executable (from /proc, through
   * ProcessHandle) and the host key it bound, unnamed.
   */
  public static Requester basic(Session session) {
    long pid = session.peer().pid();
    String exe = pid > 0 ? ProcessHandle.of(pid).flatMap(h -> h.info().command()).orElse("") : "";
    return of(session, describeClient(exe, pid), key -> List.of());
  }

  /** "/usr/bin/ssh (pid 42)"; "unknown client" when neither executable nor pid is known. */
  public static String describeClient(String exeOrName, long pid) {
    String pidText = pid > 0 ? " (pid " + pid + ")" : "";
    return (exeOrName.isEmpty() ? "unknown client" : exeOrName) + pidText;
  }

  /**
   * {@code text} with each control character (C0, DEL, C1) replaced by "?", line feeds kept when
   * {@code keepLineFeeds}: for text shown on a terminal, in pinentry or in a notification, where
   * an escape sequence or a carriage return could rewrite what the user reads.
   */
  public static String printable(String text, boolean keepLineFeeds) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean control = (c < 0x20 && !(c == '\n' && keepLineFeeds)) || (c >= 0x7f && c <= 0x9f);
      if (control && out == null) {
        out = new StringBuilder(text.length()).append(text, 0, i);
      }
      if (out != null) {
        out.append(control ? '?' : c);
      }
    }
    return out == null ? text : out.toString();
  }

  /** The key as the user knows it: its comments, or its fingerprint when it has none. */
  public static String keyLabel(Collection<String> comments, String fingerprint) {
    LinkedHashSet<String> named = new LinkedHashSet<>();
    comments.stream().filter(c -> !c.isBlank()).forEach(named::add);
    return printable(named.isEmpty() ? fingerprint : String.join(", ", named), false);
  }

  /** "CLIENT for DESTINATION[ through agent forwarding][ through socket S]", without a full stop. */
  public String requestedBy() {
    return client
        + (destination.isEmpty() ? " (destination unknown)" : " for " + destination)
        + (forwarded ? " through agent forwarding" : "")
        + (socket.equals(Peer.MAIN_SOCKET) ? "" : " through socket " + socket);
  }

  /** The question every confirm prompt asks before a key is used. */
  public String confirmQuestion(Collection<String> keyComments, String fingerprint) {
    return "Allow use of key " + keyLabel(keyComments, fingerprint) + "?\n"
        + "Key fingerprint " + fingerprint + ".\n"
        + "Requested by " + requestedBy() + ".";
  }
}
