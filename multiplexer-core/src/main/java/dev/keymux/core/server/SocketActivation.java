package dev.keymux.core.server;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.FileDescriptorCast;

/**
 * The listening socket systemd passes to a socket-activated service (sd_listen_fds(3)): when
 * {@code LISTEN_PID} names this process, {@code LISTEN_FDS} sockets start at fd 3. keymux takes
 * exactly one, its main socket. The {@code LISTEN_*} variables are meant for this process only,
 * so {@link #environment()} drops them — the environment keymux hands to the programs it starts
 * (askpass and the like), as sd_listen_fds(unset_environment=1) would.
 */
public final class SocketActivation {
  /** SD_LISTEN_FDS_START: the first passed descriptor, after stdin, stdout and stderr. */
  static final int LISTEN_FDS_START = 3;
  private static final String[] VARIABLES = {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PIDFDID"};

  private final AFUNIXServerSocket socket;
  private final Map<String, String> environment;

  private SocketActivation(AFUNIXServerSocket socket, Map<String, String> environment) {
    this.socket = socket;
    this.environment = environment;
  }

  /**
   * Reads what systemd passed, if anything was passed to {@code pid}.
   *
   * @throws IOException when the variables are meant for us but do not describe one AF_UNIX
   *     listening socket (a unit with several ListenStream= lines, a datagram socket)
   */
  public static SocketActivation from(Map<String, String> env, long pid) throws IOException {
    Map<String, String> rest = new HashMap<>(env);
    for (String v : VARIABLES) {
      rest.remove(v);
    }
    Map<String, String> children = Map.copyOf(rest);
    String listenPid = env.getOrDefault("LISTEN_PID", "");
    if (!listenPid.equals(Long.toString(pid))) {
      return new SocketActivation(null, children); // absent, or inherited from a socket-activated parent
    }
    String count = env.getOrDefault("LISTEN_FDS", "");
    if (!count.equals("1")) {
      throw new IOException("systemd passed LISTEN_FDS=" + count + "; keymux takes exactly one socket"
          + " (one ListenStream= in keymux.socket)");
    }
    AFUNIXServerSocket socket;
    try {
      socket = FileDescriptorCast.unsafeUsing(LISTEN_FDS_START).as(AFUNIXServerSocket.class);
    } catch (IOException | ClassCastException e) {
      throw new IOException("fd " + LISTEN_FDS_START + " passed by systemd is not an AF_UNIX stream socket: " + e, e);
    }
    return new SocketActivation(socket, children);
  }

  /** The listening socket systemd passed, if it passed one to this process. */
  public Optional<AFUNIXServerSocket> socket() {
    return Optional.ofNullable(socket);
  }

  /** Our environment without the {@code LISTEN_*} variables, for what keymux starts. */
  public Map<String, String> environment() {
    return environment;
  }
}
