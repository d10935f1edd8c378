package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.server.Posix;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keymux doctor}'s checks of how keymux is set up, each reproduced in a private session (HOME,
 * XDG_RUNTIME_DIR, XDG_CONFIG_HOME) with keymux really running, so the agent checks are all OK and
 * the exit status belongs to the check under test: the systemd user units, sudo and SSH_AUTH_SOCK
 * (sudoers of a stand-in machine root, {@code --system-root}), and whether the peers a scoped
 * socket admits can open it — confirmed with real connections as those uids and in real containers.
 */
class DoctorSetupTest {
  static final Duration T = Duration.ofSeconds(120);
  @TempDir Path dir;
  Path run;
  Path machine;
  Path conf;
  Map<String, String> env;

  @BeforeEach
  void session() throws Exception {
    run = Files.createDirectories(dir.resolve("run"));
    Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwx------"));
    machine = Files.createDirectories(dir.resolve("machine"));
    conf = dir.resolve("k.conf");
    env = new HashMap<>(KeymuxProcess.cleanEnv(dir));
    env.put("TMPDIR", Files.createDirectories(dir.resolve("tmp")).toString());
    env.put("XDG_RUNTIME_DIR", run.toString());
    env.put("PATH", "/usr/bin:/bin");
  }

  /** keymux serving {@code extraConfig} on run/agent.sock, and SSH_AUTH_SOCK pointing at it. */
  private KeymuxProcess healthyKeymux(String extraConfig) throws Exception {
    Files.writeString(conf, "keymux.socket.path = \"" + run.resolve("agent.sock") + "\"\nkeymux.backends.files = null\n"
        + "keymux.backends.gnome = null\n" + extraConfig);
    KeymuxProcess k = KeymuxProcess.start(dir, Map.of("XDG_RUNTIME_DIR", run.toString()), "--config", conf.toString());
    env.put("SSH_AUTH_SOCK", k.socket.toString());
    return k;
  }

  private Proc.Result doctor(String... extra) {
    List<String> args = new ArrayList<>(List.of("doctor", "--config", conf.toString(), "--system-root", machine.toString()));
    args.addAll(List.of(extra));
    return Proc.run(T, env, KeymuxProcess.command(args.toArray(String[]::new)).toArray(String[]::new));
  }

  private static void assertLine(Proc.Result r, String expected) {
    assertTrue(r.stdout().contains(expected), "expected: " + expected + "\n" + r);
  }

  @Test
  void unitsAreAProblemOnlyOnAMachineThatRunsSystemd() throws Exception {
    RealComponents.require("systemd", RealComponents.commandExists("/usr/bin/systemctl"), "systemctl missing (apt-get install systemd)");
    Path socketUnit = dir.resolve(".config/systemd/user/keymux.socket");
    try (KeymuxProcess k = healthyKeymux("")) {
      Proc.Result noSystemd = doctor();
      assertEquals(0, noSystemd.exitCode(), noSystemd.toString());
      assertLine(noSystemd, "NOTE     this machine does not run systemd (no " + machine.resolve("run/systemd/system") + "; a container or CI?)");
      assertLine(noSystemd, "No problems found.");

      Files.createDirectories(machine.resolve("run/systemd/system"));
      Proc.Result missing = doctor();
      assertEquals(1, missing.exitCode(), missing.toString());
      assertLine(missing, "PROBLEM  keymux's systemd user units are not installed (no " + socketUnit + ")");
      assertLine(missing, "fix: keymux install\n");
      assertLine(missing, "1 problem(s) found.");

      Proc.run(T, env, KeymuxProcess.command("install", "--no-enable").toArray(String[]::new)).assertOk();
      Proc.Result disabled = doctor();
      assertEquals(1, disabled.exitCode(), disabled.toString());
      assertLine(disabled, "PROBLEM  keymux.socket is installed but not enabled (disabled)");
      assertLine(disabled, "fix: systemctl --user enable --now keymux.socket\n");

      Proc.run(T, env, "/usr/bin/systemctl", "--user", "enable", "keymux.socket").assertOk(); // no user manager needed
      Proc.Result enabled = doctor();
      assertEquals(0, enabled.exitCode(), enabled.toString());
      assertLine(enabled, "OK       keymux.socket is installed and enabled (" + socketUnit + ")");
      assertFalse(enabled.stdout().contains("enable-linger"), "a session runs: " + enabled);

      // ssh in with no session (no XDG_RUNTIME_DIR): the units start keymux only while logged in.
      env.remove("XDG_RUNTIME_DIR");
      Proc.Result noSession = doctor();
      assertLine(noSession, "NOTE     no user manager runs for you now (no login session)");
      assertLine(noSession, "loginctl enable-linger " + System.getProperty("user.name"));
      assertLine(noSession, "sudo keymux install --system --account NAME");
    }
  }

  @Test
  void sudoDroppingTheSocketIsANoteWithItsFixesAndThePrintedFixMakesItOk() throws Exception {
    try (KeymuxProcess k = healthyKeymux("")) {
      Proc.Result none = doctor();
      assertLine(none, "NOTE     sudo is not installed (no " + machine.resolve("etc/sudoers") + ")");

      Path sudoers = Files.writeString(Files.createDirectories(machine.resolve("etc")).resolve("sudoers"),
          "Defaults\tenv_reset\nroot ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n");
      Path dropIns = Files.createDirectories(machine.resolve("etc/sudoers.d"));
      Proc.Result dropped = doctor();
      assertEquals(0, dropped.exitCode(), "a note, not a problem: " + dropped);
      assertLine(dropped, "NOTE     sudo drops SSH_AUTH_SOCK (" + sudoers + ":1: env_reset, and no env_keep names SSH_AUTH_SOCK)");
      assertLine(dropped, "fix: echo 'Defaults env_keep += \"SSH_AUTH_SOCK\"' | sudo tee /etc/sudoers.d/keymux"
          + " && sudo chmod 0440 /etc/sudoers.d/keymux");
      assertLine(dropped, " or: narrower, some keys for a while: keymux grant --uid 0 --keys PATTERN --for 10m, then sudo SSH_AUTH_SOCK=");
      assertLine(dropped, "No problems found.");

      // Apply the printed fix to the stand-in machine: exactly the line it echoes, into the file it names.
      Matcher fix = Pattern.compile("fix: echo '([^']*)' \\| sudo tee /etc/(sudoers\\.d/keymux)").matcher(dropped.stdout());
      assertTrue(fix.find(), dropped.stdout());
      Path dropIn = Files.writeString(machine.resolve("etc").resolve(fix.group(2)), fix.group(1) + "\n");
      Proc.Result kept = doctor();
      assertEquals(0, kept.exitCode(), kept.toString());
      assertLine(kept, "OK       sudo keeps SSH_AUTH_SOCK (" + dropIn + ":1: env_keep += \"SSH_AUTH_SOCK\"); keymux lets root use its main socket");

      Files.delete(dropIn);
      Files.writeString(dropIns.resolve("loose"), "Defaults !env_reset\n");
      assertLine(doctor(), "OK       sudo keeps SSH_AUTH_SOCK (" + dropIns.resolve("loose") + ":1: !env_reset)");
    }
  }

  @Test
  void scopedSocketsThatTheirPeersCannotOpenAreFoundAndConnectionsAsThosePeersAgree() throws Exception {
    RealComponents.require("other-uid", Posix.currentUid() == 0 && RealComponents.commandExists("/usr/bin/setpriv"),
        "needs root and setpriv to connect as other uids");
    // The test's own tree lets others pass (0711) down to shared/ (0755); run/ stays 0700 like a real XDG_RUNTIME_DIR.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    Path shared = Files.createDirectories(dir.resolve("shared"));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path closed = shared.resolve("closed/agent.sock");
    Path open = shared.resolve("open/agent.sock");
    Path walled = run.resolve("walled/agent.sock");
    try (KeymuxProcess k = healthyKeymux("""
        keymux.sockets {
          closed { backends = [added], allow-uids = [4242], path = "%s" }
          open { backends = [added], allow-uids = [4242], mode = "0666", path = "%s" }
          walled { backends = [added], allow-uids = [65534], mode = "0666" }
        }
        """.formatted(closed, open))) {
      waitFor(closed, open, walled);
      Proc.Result r = doctor();
      assertEquals(1, r.exitCode(), r.toString());
      assertLine(r, "PROBLEM  scoped socket closed admits peers the file modes keep out, also in a container that mounts "
          + closed.getParent() + ": uid 4242 cannot enter " + closed.getParent() + " (mode 0700, owner uid 0");
      assertLine(r, "fix: keymux.sockets.closed.mode = \"0666\"");
      assertLine(r, "OK       scoped socket open (" + open + "): uid 4242 may open it; containers mount its directory: -v "
          + open.getParent() + ":/run/keymux -e SSH_AUTH_SOCK=/run/keymux/agent.sock");
      assertLine(r, "NOTE     scoped socket walled: processes of uid 65534 on this host cannot reach " + walled + ": " + run
          + " (mode 0700");
      assertLine(r, "fix: move the socket where every directory above it is searchable, rather than opening " + run
          + ": keymux.sockets.walled.path = \"/tmp/keymux-0-walled/agent.sock\"");
      assertLine(r, "1 problem(s) found.");

      // What the kernel and keymux really do with those peers.
      Proc.Result asClosed = sshAddAs(4242, closed);
      assertEquals(2, asClosed.exitCode(), asClosed.toString());
      assertTrue(asClosed.stderr().contains("Permission denied"), asClosed.stderr());
      assertEquals(1, sshAddAs(4242, open).exitCode(), "the agent answers uid 4242: no identities");
      Proc.Result asNobody = sshAddAs(65534, walled);
      assertEquals(2, asNobody.exitCode(), asNobody.toString());
      assertTrue(asNobody.stderr().contains("Permission denied"), asNobody.stderr());
    }
  }

  private static Proc.Result sshAddAs(int uid, Path socket) {
    return Proc.run(T, Map.of("SSH_AUTH_SOCK", socket.toString()), "/usr/bin/setpriv", "--reuid=" + uid, "--regid=" + uid,
        "--clear-groups", "/usr/bin/ssh-add", "-l");
  }

  private static void waitFor(Path... sockets) throws InterruptedException {
    for (Path s : sockets) {
      for (int i = 0; i < 200 && !Files.exists(s); i++) {
        Thread.sleep(50);
      }
      assertTrue(Files.exists(s), s + " appears");
    }
  }

  @Test
  void withDockerInstalledTheMainSocketsLimitsAreNoted() throws Exception {
    RealComponents.require("docker", RealComponents.commandExists("/usr/bin/docker"), "no docker client (apt-get install docker.io)");
    try (KeymuxProcess k = healthyKeymux("")) {
      Proc.Result r = doctor();
      assertEquals(0, r.exitCode(), r.toString());
      assertLine(r, "NOTE     Docker is installed: a container given keymux's main socket (-v $SSH_AUTH_SOCK:/ssh-agent) can use it "
          + "only when it runs as uid " + Posix.currentUid() + " (you) or root");
      assertLine(r, "fix: give containers a scoped socket with only the keys they need: keymux.sockets.container");
      assertLine(r, "(docs/examples/container-host.conf)");

      // The same machine without docker on PATH: no note (the few tools doctor runs stay reachable).
      Path bin = Files.createDirectories(dir.resolve("bin"));
      for (String tool : List.of("systemctl", "id", "getent")) {
        Files.createSymbolicLink(bin.resolve(tool), Path.of("/usr/bin", tool));
      }
      env.put("PATH", bin.toString());
      Proc.Result without = doctor();
      assertEquals(0, without.exitCode(), without.toString());
      assertFalse(without.stdout().contains("Docker"), without.stdout());
    }
  }

  @Test
  void containerOptionRunsSshAddInRealContainersForEveryAdmittedPeer() throws Exception {
    Proc.Result image = Proc.run(T, Map.of(), "/usr/bin/docker", "image", "inspect", "-f", "{{.Id}}", ContainerTest.IMAGE);
    RealComponents.require("docker", image.exitCode() == 0,
        "no Docker engine or no image " + ContainerTest.IMAGE + " (scripts/build-test-image.sh): " + image.stderr().strip());
    Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), "id_box", "ed25519", "box-key");
    try (KeymuxProcess k = healthyKeymux("""
        keymux.sockets {
          box { backends = [added], allow-uids = [0, 4242], mode = "0666" }
          closed { backends = [added], allow-uids = [4242] }
        }
        """)) {
      waitFor(run.resolve("box/agent.sock"), run.resolve("closed/agent.sock"));
      Proc.run(T, k.env(), "/usr/bin/ssh-add", key.toString()).assertOk();
      Proc.Result r = doctor("--container", ContainerTest.IMAGE);
      assertEquals(1, r.exitCode(), r.toString());
      String in = "in a container of " + ContainerTest.IMAGE + " as --user ";
      assertLine(r, "OK       scoped socket box " + in + "0:0: the agent answers (1 key(s))");
      assertLine(r, "OK       scoped socket box " + in + "4242:4242: the agent answers (1 key(s))");
      assertLine(r, "PROBLEM  scoped socket closed " + in + "4242:4242: ssh-add -l says: Error connecting to agent: Permission denied");
      assertLine(r, "PROBLEM  scoped socket closed admits peers the file modes keep out");
      assertLine(r, "2 problem(s) found.");
    }
  }
}
