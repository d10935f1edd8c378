package dev.keymux.core.server;

import dev.keymux.core.agent.Peer;
import java.util.Set;

/**
 * Who may reach one socket: file permissions of the socket (and of its directory, for a scoped
 * socket that lives alone in one) and the peer-credential check made on every connection.
 *
 * @param mode the socket file's permission bits
 * @param owner user name or uid for the socket and its directory; "" = ours
 * @param group group name or gid; "" = ours
 * @param ownDirectory the socket lives alone in its directory, which keymux creates, sets up like
 *     the socket and removes when it stops
 * @param admitRoot whether root may connect without being listed in {@code allowUids}
 */
public record SocketAccess(int mode, String owner, String group, Set<Integer> allowUids, Set<Integer> allowGids,
    boolean ownDirectory, boolean admitRoot) {
  public SocketAccess {
    allowUids = Set.copyOf(allowUids);
    allowGids = Set.copyOf(allowGids);
  }

  /** The main socket: 0600, our uid and root, plus any explicitly allowed uids. */
  public static SocketAccess main(Set<Integer> allowedUids) {
    return new SocketAccess(0600, "", "", allowedUids, Set.of(), false, true);
  }

  public boolean admits(Peer peer, int ownUid) {
    return peer.uid() == ownUid || peer.uid() == 0 && admitRoot || allowUids.contains(peer.uid())
        || allowGids.contains(peer.gid());
  }

  /** The directory's mode: the socket's read bits plus search; never write for anyone but the owner. */
  public int directoryMode() {
    int dir = 0700;
    if ((mode & 0060) != 0) {
      dir |= 0050;
    }
    if ((mode & 0006) != 0) {
      dir |= 0005;
    }
    return dir;
  }
}
