package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * keymux started the way keymux.socket starts it: systemd-socket-activate (systemd's own tool)
 * binds the socket, waits for the first client and then execs keymux with the listening socket
 * as fd 3 and LISTEN_FDS=1/LISTEN_PID. keymux serves that socket instead of binding its own and
 * leaves its file alone at exit, because the file is systemd's.
 */
class SocketActivationTest {
  static final Duration T = Duration.ofSeconds(60);
  static final String ACTIVATE = "/usr/bin/systemd-socket-activate";
  @TempDir Path dir;

  /** keymux under systemd-socket-activate on {@code socket}, with a private home and {@code config}. */
  Process activate(Path socket, Path config, Path log) throws Exception {
    return activate(socket, KeymuxProcess.command("serve", "--config", config.toString()), log);
  }

  /** {@code daemon} under systemd-socket-activate on {@code socket}, with a private home (dir/home). */
  Process activate(Path socket, List<String> daemon, Path log) throws Exception {
    RealComponents.require("systemd", RealComponents.commandExists(ACTIVATE),
        ACTIVATE + " is not installed (apt-get install systemd)");
    Path home = Files.createDirectories(dir.resolve("home"));
    List<String> cmd = new ArrayList<>(List.of(ACTIVATE, "-l", socket.toString(),
        // systemd-socket-activate hands the daemon only the variables named here.
        "-E", "HOME=" + home, "-E", "XDG_CONFIG_HOME=" + home.resolve(".config"),
        "-E", "XDG_RUNTIME_DIR=" + Files.createDirectories(dir.resolve("xdg-run"))));
    cmd.addAll(daemon);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.currentTimeMillis() + 20_000;
    while (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) { // bound by systemd-socket-activate, before keymux runs
      assertTrue(p.isAlive(), () -> "systemd-socket-activate exited:\n" + read(log));
      assertTrue(System.currentTimeMillis() < deadline, () -> "no socket within 20 s:\n" + read(log));
      Thread.sleep(20);
    }
    return p;
  }

  static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (java.io.IOException e) {
      return "(no log: " + e + ")";
    }
  }

  static Map<String, String> client(Path home, Path socket) {
    Map<String, String> env = KeymuxProcess.cleanEnv(home);
    env.put("SSH_AUTH_SOCK", socket.toString());
    return env;
  }

  static void stop(Process p) throws InterruptedException {
    if (p.isAlive()) {
      p.destroy();
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  @Test
  void servesTheSocketSystemdPassesAndLeavesItsFileAtExit() throws Exception {
    Path socket = Files.createDirectories(dir.resolve("run")).resolve("agent.sock");
    Path config = Files.writeString(dir.resolve("keymux.conf"), "keymux.backends { files = null, gnome = null }\n");
    Path log = dir.resolve("keymux.log");
    Process p = activate(socket, config, log);
    try {
      Map<String, String> env = client(dir, socket);
      long t0 = System.nanoTime();
      Proc.Result first = Proc.run(T, env, "/usr/bin/ssh-add", "-l"); // starts the JVM: the cold first answer
      long firstMillis = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(1, first.exitCode(), first + "\n" + read(log));
      assertTrue(first.stdout().contains("no identities"), first.toString());
      System.out.println("socket activation: first answer (JVM start included) after " + firstMillis + " ms");
      System.out.println("socket activation: keymux RSS after the first answer "
          + Proc.run(T, Map.of(), "/usr/bin/ps", "-o", "rss=", "-p", Long.toString(p.pid())).stdout().strip() + " KiB");

      Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), "id", "ed25519", "activated-key");
      Proc.run(T, env, "/usr/bin/ssh-add", "-q", key.toString()).assertOk();
      Proc.Result list = Proc.run(T, env, "/usr/bin/ssh-add", "-l").assertOk();
      assertTrue(list.stdout().contains(TestKeys.fingerprint(key)) && list.stdout().contains("activated-key"), list.toString());

      String started = read(log);
      assertTrue(started.contains("adopted the listening socket passed by systemd (fd 3) at " + socket), started);
      assertFalse(started.contains("another agent") || started.contains("stale socket"), started);
    } finally {
      stop(p);
    }
    assertEquals(143, p.exitValue(), "keymux ends on SIGTERM (128 + 15), not killed after the grace period");
    assertTrue(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "systemd's socket file stays after keymux exits:\n" + read(log));
    assertTrue(read(log).contains("systemd's socket; it stays"), read(log));
  }

  @Test
  void exitsOnItsOwnAfterIdleExitWithoutAConnection() throws Exception {
    Path socket = Files.createDirectories(dir.resolve("run")).resolve("agent.sock");
    Path config = Files.writeString(dir.resolve("keymux.conf"),
        "keymux { idle-exit = 2s, backends { files = null, gnome = null } }\n");
    Path log = dir.resolve("keymux.log");
    Process p = activate(socket, config, log);
    try {
      Proc.run(T, client(dir, socket), "/usr/bin/ssh-add", "-l"); // the first connection starts keymux
      long lastConnection = System.nanoTime();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), () -> "keymux still runs 30 s after its last connection:\n" + read(log));
      long idleMillis = (System.nanoTime() - lastConnection) / 1_000_000;
      assertEquals(0, p.exitValue(), read(log));
      assertTrue(idleMillis >= 2_000, "exited after " + idleMillis + " ms, before idle-exit = 2s");
      assertTrue(read(log).contains("no connection for 2s (keymux.idle-exit)"), read(log));
      assertTrue(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "the socket stays for the next start");
    } finally {
      stop(p);
    }
  }

  /** Right after `keymux install` nothing runs yet: doctor's first connection starts keymux, and doctor waits for the cold JVM. */
  @Test
  void doctorsFirstConnectionStartsKeymuxAndWaitsForItsAnswer() throws Exception {
    Path socket = Files.createDirectories(dir.resolve("run")).resolve("agent.sock");
    Path config = Files.writeString(dir.resolve("keymux.conf"),
        "keymux.socket.path = \"" + socket + "\"\nkeymux.backends { files = null, gnome = null }\n");
    Process p = activate(socket, config, dir.resolve("keymux.log"));
    try {
      Proc.Result r = Proc.run(T, client(dir, socket), KeymuxProcess.command("doctor", "--config", config.toString(),
          "--system-root", Files.createDirectories(dir.resolve("machine")).toString()).toArray(String[]::new));
      assertTrue(r.stdout().contains("OK       keymux answers on " + socket + "\n"), r.toString());
      assertTrue(r.stdout().contains("OK       SSH_AUTH_SOCK points at keymux"), r.toString());
      assertEquals(0, r.exitCode(), r.toString());
    } finally {
      stop(p);
    }
  }

  /** Every Java keymux install could pick here: the one running the tests and Temurin 25 where installed. */
  static List<String> javas() {
    List<String> javas = new ArrayList<>(List.of(KeymuxProcess.javaBinary()));
    try (var dirs = Files.newDirectoryStream(Path.of("/usr/lib/jvm"))) {
      for (Path home : dirs) {
        Path bin = home.resolve("bin/java");
        if (home.getFileName().toString().contains("-25-") && Files.isExecutable(bin) && !javas.contains(bin.toString())) {
          javas.add(bin.toString());
        }
      }
    } catch (java.io.IOException e) {
      // only the running Java
    }
    return javas;
  }

  /**
   * The service `keymux install` writes, run as systemd would run it: its ExecStart (keymux's JVM
   * options and the class-data archive install made) under systemd-socket-activate. The JVM is
   * told to fail rather than start without the archive, so a stale or unusable archive fails
   * here instead of silently costing start-up time.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.MethodSource("javas")
  void theServiceKeymuxInstallWritesAnswersWithItsArchive(String java) throws Exception {
    Path home = Files.createDirectories(dir.resolve("home"));
    Map<String, String> env = KeymuxProcess.cleanEnv(home);
    env.put("KEYMUX_JAVA", java);
    env.put("XDG_CACHE_HOME", home.resolve(".cache").toString());
    Proc.Result install = Proc.run(Duration.ofMinutes(3), env, KeymuxProcess.command("install", "--no-enable")
        .toArray(String[]::new)).assertOk();
    assertTrue(install.stdout().contains("made the start-up archive "), install.toString());
    String unit = Files.readString(home.resolve(".config/systemd/user/keymux.service"));
    String execStart = unit.lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow()
        .substring("ExecStart=".length());
    assertFalse(execStart.contains("\"") || execStart.contains("'"), "plain words in this test's paths: " + execStart);
    List<String> words = new ArrayList<>(List.of(execStart.split(" ")));
    assertEquals(java, words.get(0), execStart);
    assertEquals(List.of("-jar", KeymuxProcess.jar().toString(), "serve"), words.subList(words.size() - 3, words.size()));
    String archive = words.stream().filter(w -> w.startsWith("-XX:AOTCache=") || w.startsWith("-XX:SharedArchiveFile="))
        .findFirst().orElseThrow(() -> new AssertionError("no archive in " + execStart));
    assertTrue(Files.isRegularFile(Path.of(archive.substring(archive.indexOf('=') + 1))), execStart);
    assertTrue(words.contains("-XX:+UseSerialGC") && words.stream().anyMatch(w -> w.startsWith("-Xmx")), execStart);
    String library = words.stream().filter(w -> w.startsWith("-Dorg.newsclub.net.unix.library.override="))
        .map(w -> w.substring(w.indexOf('=') + 1)).findFirst().orElseThrow(() -> new AssertionError(execStart));
    words.add(1, archive.startsWith("-XX:AOTCache=") ? "-XX:AOTMode=on" : "-Xshare:on");

    Path key = TestKeys.generate(Files.createDirectories(home.resolve(".ssh")), "id_ed25519", "ed25519", "unit-key");
    Path socket = Files.createDirectories(dir.resolve("run")).resolve("agent.sock");
    Path log = dir.resolve("keymux.log");
    Process p = activate(socket, words, log);
    try {
      Proc.Result list = Proc.run(T, client(dir, socket), "/usr/bin/ssh-add", "-l");
      assertEquals(0, list.exitCode(), list + "\n" + read(log));
      assertTrue(list.stdout().contains(TestKeys.fingerprint(key)), list + "\n" + read(log));
      assertFalse(read(log).contains("[warning]"), "the JVM took its options and archive without a word:\n" + read(log));
      assertTrue(Files.readString(Path.of("/proc", Long.toString(p.pid()), "maps")).contains(library),
          "junixsocket loaded the library install copied out, " + library);
    } finally {
      stop(p);
    }
    assertEquals(143, p.exitValue(), read(log));
  }
}
