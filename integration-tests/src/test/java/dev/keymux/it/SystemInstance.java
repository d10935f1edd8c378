package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.server.Posix;
import dev.keymux.testing.Proc;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One instance of the system units {@code keymux install --system} writes, run the way systemd
 * runs it, for machines (CI) where the units are written but no systemd runs as PID 1: the socket
 * unit's ExecStartPre lines, its ListenStream bound by systemd-socket-activate as the account
 * with SocketMode applied, the LoadCredential file copied into a credentials directory only the
 * account can read, and the service's Environment= and ExecStart as the account's uid.
 */
final class SystemInstance implements AutoCloseable {
  static final Duration T = Duration.ofSeconds(60);
  static final String ACTIVATE = "/usr/bin/systemd-socket-activate";

  final Path socket;
  final Process process;
  final Path log;

  private SystemInstance(Path socket, Process process, Path log) {
    this.socket = socket;
    this.process = process;
    this.log = log;
  }

  /** The values of {@code key=} lines of a unit, with {@code account} as its instance (%i) and $$ unescaped. */
  static List<String> values(String unit, String key, String account) {
    return unit.lines().filter(l -> l.startsWith(key + "=")).map(l -> l.substring(key.length() + 1)
        .replace("%i", account).replace("$$", "$")).toList();
  }

  /** Starts {@code account}'s instance of the units in {@code units}; {@code work} holds its credentials and log. */
  static SystemInstance start(Path units, String account, int uid, int gid, Path work) throws Exception {
    String socketUnit = Files.readString(units.resolve("keymux@.socket"));
    String serviceUnit = Files.readString(units.resolve("keymux@.service"));
    assertEquals(List.of(account), values(serviceUnit, "User", account));
    for (String pre : values(socketUnit, "ExecStartPre", account)) {
      Proc.run(T, Map.of(), pre.split(" ")).assertOk();
    }
    Path credentials = Files.createDirectories(work.resolve("credentials-" + account));
    for (String load : values(serviceUnit, "LoadCredential", account)) {
      String[] nameSource = load.split(":", 2);
      Path copy = credentials.resolve(nameSource[0]);
      Files.copy(Path.of(nameSource[1]), copy, StandardCopyOption.REPLACE_EXISTING);
      Files.setAttribute(copy, "unix:uid", uid);
      Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("r--------"));
    }
    Files.setAttribute(credentials, "unix:uid", uid);
    Files.setPosixFilePermissions(credentials, PosixFilePermissions.fromString("r-x------"));
    Path socket = Path.of(values(socketUnit, "ListenStream", account).get(0));
    Path log = work.resolve("service-" + account + ".log");
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups",
        ACTIVATE, "-l", socket.toString(), "-E", "HOME=/nonexistent", "-E", "PATH=/usr/bin:/bin",
        "-E", "CREDENTIALS_DIRECTORY=" + credentials));
    for (String e : values(serviceUnit, "Environment", account)) {
      cmd.addAll(List.of("-E", e));
    }
    String exec = values(serviceUnit, "ExecStart", account).get(0);
    assertFalse(exec.contains("\"") || exec.contains("'"), "plain words in this test's paths: " + exec);
    cmd.addAll(List.of(exec.split(" ")));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.currentTimeMillis() + 20_000;
    while (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
      assertTrue(p.isAlive(), () -> "systemd-socket-activate exited:\n" + SocketActivationTest.read(log));
      assertTrue(System.currentTimeMillis() < deadline, () -> "no socket within 20 s:\n" + SocketActivationTest.read(log));
      Thread.sleep(20);
    }
    // What systemd does with SocketMode= (systemd-socket-activate leaves the umask's mode).
    Files.setPosixFilePermissions(socket, Posix.permissions(Integer.parseInt(values(socketUnit, "SocketMode", account).get(0), 8)));
    return new SystemInstance(socket, p, log);
  }

  String log() {
    return SocketActivationTest.read(log);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    process.waitFor();
  }
}
