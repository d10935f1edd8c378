package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import java.io.IOException;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * {@code keymux serve} with no {@code -a} and no configured path: the socket goes to
 * {@code $XDG_RUNTIME_DIR/keymux/agent.sock}, or to the private {@code /tmp/keymux-UID} fallback
 * (with a log line saying so) when XDG_RUNTIME_DIR is unset.
 */
class DefaultSocketTest {
  static final Duration T = Duration.ofSeconds(30);
  @TempDir Path dir;

  private static String mode(Path p) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  private static boolean isLive(Path socket) throws IOException {
    if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    try {
      AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(socket.toFile())).close();
      return true;
    } catch (SocketException e) {
      return false;
    }
  }

  private static void assertServes(KeymuxProcess keymux) {
    Proc.Result l = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l");
    assertEquals(1, l.exitCode(), "an empty agent answers ssh-add -l: " + l);
    assertTrue(l.stdout().contains("The agent has no identities."), l.toString());
  }

  @Test
  void theSocketGoesUnderXdgRuntimeDir() throws Exception {
    Path runtime = Files.createDirectory(dir.resolve("runtime"), PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rwx------")));
    Path expected = runtime.resolve("keymux").resolve("agent.sock");
    try (KeymuxProcess keymux = KeymuxProcess.startWithDefaultSocket(Files.createDirectories(dir.resolve("home")),
        expected, Map.of("XDG_RUNTIME_DIR", runtime.toString()))) {
      assertEquals("rw-------", mode(expected));
      assertEquals("rwx------", mode(expected.getParent()));
      assertServes(keymux);
      assertTrue(keymux.log().contains("listening on " + expected), keymux.log());
      assertFalse(keymux.log().contains("XDG_RUNTIME_DIR is not set"), keymux.log());
    }
    assertFalse(Files.exists(expected, LinkOption.NOFOLLOW_LINKS), "the socket is removed on SIGTERM");
  }

  @Test
  void withoutXdgRuntimeDirTheSocketFallsBackToAPrivateTmpDirectoryAndSaysSo() throws Exception {
    int uid = (Integer) Files.getAttribute(dir, "unix:uid");
    Path fallback = Path.of("/tmp", "keymux-" + uid);
    Path expected = fallback.resolve("agent.sock");
    // The fallback path is shared with any keymux run on this machine without XDG_RUNTIME_DIR:
    // never take it over from a live agent (keymux itself would refuse too).
    assertFalse(isLive(expected), "an agent outside this test is serving the fallback socket " + expected
        + "; stop it (or run this test where no keymux runs without XDG_RUNTIME_DIR)");
    boolean fallbackExisted = Files.exists(fallback, LinkOption.NOFOLLOW_LINKS);
    try (KeymuxProcess keymux = KeymuxProcess.startWithDefaultSocket(Files.createDirectories(dir.resolve("home")),
        expected, Map.of())) {
      assertEquals("rw-------", mode(expected));
      assertEquals("rwx------", mode(fallback));
      assertEquals(uid, (Integer) Files.getAttribute(fallback, "unix:uid", LinkOption.NOFOLLOW_LINKS));
      assertServes(keymux);
      String log = keymux.log();
      assertTrue(log.contains("XDG_RUNTIME_DIR is not set; using the private fallback directory " + fallback), log);
    } finally {
      if (!fallbackExisted) {
        // Only what this test created: a socket nobody answers on (keymux normally removed it
        // already), then the directory if it is empty.
        if (!isLive(expected)) {
          Files.deleteIfExists(expected);
        }
        try {
          Files.deleteIfExists(fallback);
        } catch (java.nio.file.DirectoryNotEmptyException e) {
          // something else appeared in it meanwhile; leave it
        }
      }
    }
    assertFalse(Files.exists(expected, LinkOption.NOFOLLOW_LINKS), "the socket is removed on SIGTERM");
  }
}
