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

  /** The real uid of this process. */
  public static int currentUid() {
    return (int) new com.sun.security.auth.module.UnixSystem().getUid();
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
}
