package dev.keymux.core.agent;

/**
 * The process at the other end of a connection, from SO_PEERCRED. {@code pid} is -1 when the
 * platform does not report it.
 */
public record Peer(long pid, int uid, int gid, String socketName) {
  /** The name of the main socket (keymux.socket); every other name is a scoped socket. */
  public static final String MAIN_SOCKET = "main";
}
