package dev.keymux.core.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** The few POSIX facts the server needs that Java has no portable API for. */
public final class Posix {
  private Posix() {}

  /** Real uid and gid, read once. */
  private static final int[] IDS = readIds();

  /**
   * The real uid of this process, from /proc/self/status. Not from the JDK's
   * {@code UnixSystem}, which answers 0 for a uid without a passwd entry (a container run with
   * {@code --user 1000}) and would make such a process take itself for root.
   */
  public static int currentUid() {
    return IDS[0];
  }

  /** The real gid of this process, read the same way. */
  public static int currentGid() {
    return IDS[1];
  }

  private static int[] readIds() {
    int[] ids = {-1, -1};
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        int i = line.startsWith("Uid:") ? 0 : line.startsWith("Gid:") ? 1 : -1;
        if (i >= 0) {
          ids[i] = Integer.parseInt(line.substring(4).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // no /proc: ask the JDK below
    }
    if (ids[0] < 0 || ids[1] < 0) {
      com.sun.security.auth.module.UnixSystem jdk = new com.sun.security.auth.module.UnixSystem();
      ids[0] = (int) jdk.getUid();
      ids[1] = (int) jdk.getGid();
    }
    return ids;
  }

  /**
   * Prepares the directory a socket goes into. A missing directory is created 0700. An existing
   * directory of keymux's or ssh-agent's own naming ({@code keymux*}, {@code ssh-*}) must belong
   * to us and is tightened to 0700. Any other existing directory (a user's {@code -a /tmp/x.sock})
   * is left exactly as it is: the socket's own 0600 mode protects it, and changing the mode of a
   * shared directory such as /tmp would break the system.
   */
  public static void prepareSocketDirectory(Path dir) throws IOException {
    Set<PosixFilePermission> owner = PosixFilePermissions.fromString("rwx------");
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(dir.getParent());
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(owner));
      Files.setPosixFilePermissions(dir, owner); // the umask may have narrowed the create mode; make it exact
      return;
    }
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(dir + " is not a directory");
    }
    String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
    if (!name.startsWith("keymux") && !name.startsWith("ssh-")) {
      return;
    }
    int ownerUid = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    if (ownerUid != currentUid()) {
      throw new IOException("socket directory " + dir + " belongs to uid " + ownerUid + ", not to us ("
          + currentUid() + "); refusing to serve keys from it");
    }
    Files.setPosixFilePermissions(dir, owner);
  }

  /**
   * Prepares the private directory of a scoped socket: created if missing; if it exists it must be
   * a directory of ours (or of the socket's configured owner, from an earlier run) — in a shared
   * place such as /tmp anyone could have made it first — that holds nothing but, perhaps, a
   * previous socket of the same name — a scoped
   * socket never shares its directory, so a mistaken path such as /tmp/x.sock is refused rather
   * than having /tmp's mode changed.
   */
  public static void prepareOwnDirectory(Path dir, String socketName, int mode, String owner, String group)
      throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(dir.getParent());
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } else {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw new IOException(dir + " is not a directory");
      }
      int dirUid = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
      if (dirUid != currentUid() && !isOwner(dir, dirUid, owner)) {
        throw new IOException("socket directory " + dir + " belongs to uid " + dirUid + ", not to keymux (uid "
            + currentUid() + ")" + (owner.isEmpty() ? "" : " nor to " + owner)
            + "; refusing to serve keys from a directory someone else controls (remove it, or choose another path)");
      }
      try (var entries = Files.list(dir)) {
        var others = entries.map(p -> p.getFileName().toString()).filter(n -> !n.equals(socketName)).sorted().toList();
        if (!others.isEmpty()) {
          throw new IOException("a scoped socket needs a directory of its own, but " + dir + " also holds "
              + String.join(", ", others.subList(0, Math.min(3, others.size()))) + (others.size() > 3 ? ", ..." : ""));
        }
      }
    }
    setOwnership(dir, owner, group);
    Files.setPosixFilePermissions(dir, permissions(mode));
  }

  /** Whether {@code owner} (a name or a number; "" = nobody) is the uid that owns {@code p}. */
  private static boolean isOwner(Path p, int uid, String owner) throws IOException {
    if (owner.isEmpty()) {
      return false;
    }
    return owner.matches("\\d+") ? Integer.parseInt(owner) == uid
        : Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName().equals(owner);
  }

  /** Sets owner and group, each a name or a number; "" leaves it as it is. */
  public static void setOwnership(Path p, String owner, String group) throws IOException {
    var lookup = p.getFileSystem().getUserPrincipalLookupService();
    var view = Files.getFileAttributeView(p, java.nio.file.attribute.PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    if (!owner.isEmpty()) {
      if (owner.matches("\\d+")) {
        Files.setAttribute(p, "unix:uid", Integer.parseInt(owner), LinkOption.NOFOLLOW_LINKS);
      } else {
        view.setOwner(lookup.lookupPrincipalByName(owner));
      }
    }
    if (!group.isEmpty()) {
      if (group.matches("\\d+")) {
        Files.setAttribute(p, "unix:gid", Integer.parseInt(group), LinkOption.NOFOLLOW_LINKS);
      } else {
        view.setGroup(lookup.lookupPrincipalByGroupName(group));
      }
    }
  }

  /** Octal mode bits as Java's permission set. */
  public static Set<PosixFilePermission> permissions(int mode) {
    StringBuilder sb = new StringBuilder();
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      sb.append((mode & (0400 >> i)) != 0 ? rwx.charAt(i) : '-');
    }
    return PosixFilePermissions.fromString(sb.toString());
  }
}
