package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.server.Posix;
import dev.keymux.testing.GnomeKeyring;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.SoftHsm;
import dev.keymux.testing.Sshd;
import dev.keymux.testing.TestKeys;
import dev.keymux.testing.Tmux;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The story keymux exists for, walked in order on one machine with real components, running
 * the commands of docs/walkthrough.md's {@code step=…} blocks, so the walkthrough cannot drift
 * from what works: login (an encrypted file key, a SoftHSM token key and a key in a real GNOME
 * Keyring whose agent claimed SSH_AUTH_SOCK first), one passphrase prompt for pushes from three
 * terminals (one inside tmux) and a reconnecting client, an ssh session before any graphical
 * login, a root script run through sudo with a grant the user confirms (and refused once the
 * grant has expired), a CI runner that is a system service (keymux installed system-wide as a
 * package would be, its unit run as systemd runs it) cloning with its deploy key and seeing none
 * of the user's keys, a container of uid 1000 that sees only a deploy key through a scoped
 * socket, and the record: the audit log has a line per signature and nothing of an
 * ended agent is left behind. systemd's part (holding the socket, starting keymux's unit on the first
 * connection) is played by systemd-socket-activate running the unit's own ExecStart, as on a
 * machine without a user manager. The session directory is /run/user/UID, as systemd makes it.
 */
class SeedStoryTest {
  static final Duration T = Duration.ofSeconds(120);
  static final String PASS = "correct horse battery staple";
  static final String ACTIVATE = "/usr/bin/systemd-socket-activate";
  static final Pattern BLOCK = Pattern.compile("```(sh|hocon)( step=(\\S+))?\\n(.*?)```", Pattern.DOTALL);

  /** The service account of the runner step. */
  static final String RUNNER = "ci-runner";
  /** Where the runner step puts keymux's jar, as a package would (ProtectHome hides a jar under /root). */
  static final Path INSTALLED = Path.of("/usr/local/lib/keymux/keymux.jar");

  @TempDir Path dir;

  /** The walkthrough's blocks: {@code step=NAME} shell blocks by name, and its hocon block under "hocon". */
  static Map<String, String> walkthrough() throws Exception {
    String text = Files.readString(Path.of("../docs/walkthrough.md"));
    Map<String, String> steps = new LinkedHashMap<>();
    Matcher m = BLOCK.matcher(text);
    while (m.find()) {
      if (m.group(1).equals("hocon")) {
        steps.merge("hocon", m.group(4), String::concat);
      } else if (m.group(3) != null) {
        assertNull(steps.put(m.group(3), m.group(4)), "step " + m.group(3) + " twice in the walkthrough");
      }
    }
    return steps;
  }

  @Test
  void theWholeStoryFromTheLaptopToTheContainer() throws Exception {
    RealComponents.require("sshd", Sshd.available(), "apt-get install openssh-server");
    RealComponents.require("softhsm", SoftHsm.available(), "apt-get install softhsm2 opensc");
    RealComponents.require("gnome-keyring", GnomeKeyring.available(), "apt-get install gnome-keyring dbus-daemon libsecret-tools");
    RealComponents.require("systemd", RealComponents.commandExists(ACTIVATE), "apt-get install systemd");
    RealComponents.require("tty", Tmux.available(), "apt-get install tmux");
    RealComponents.require("docker", Proc.run(T, Map.of(), "/usr/bin/docker", "image", "inspect", ContainerTest.IMAGE).exitCode() == 0,
        "the Docker engine and the local test image " + ContainerTest.IMAGE + " (scripts/build-test-image.sh)");
    RealComponents.require("sudo", RealComponents.commandExists("/usr/bin/sudo") && Posix.currentUid() == 0,
        "the sudo step needs sudo (apt-get install sudo), run by root here");
    Map<String, String> steps = walkthrough();
    assertEquals(List.of("install", "doctor", "login", "push", "before-login", "sudo", "sudo-expired", "runner", "runner-job",
        "container"),
        steps.keySet().stream().filter(k -> !k.equals("hocon")).toList(), "the walkthrough's steps, in order");

    int uid = Posix.currentUid();
    Path run = Path.of("/run/user/" + uid);
    assertFalse(Files.exists(run.resolve("keymux")), run + "/keymux exists: this machine has a real session for uid " + uid);
    // The runner step installs keymux system-wide, as a package would: only where nothing of it is.
    List<Path> system = List.of(Path.of("/usr/local/bin/keymux"), INSTALLED, Path.of("/etc/keymux/" + RUNNER),
        Path.of("/etc/systemd/system/keymux@.service"), Path.of("/etc/systemd/system/keymux@.socket"));
    for (Path p : system) {
      assertFalse(Files.exists(p, LinkOption.NOFOLLOW_LINKS), p + " exists: this test installs keymux system-wide, on a CI machine");
    }
    assertNotEquals(0, Proc.run(T, Map.of(), "/usr/bin/id", "-u", RUNNER).exitCode(), "the account " + RUNNER + " exists already");
    List<Path> madeParents = Stream.of(Path.of("/etc/keymux"), Path.of("/run/keymux")).filter(p -> !Files.exists(p)).toList();
    boolean madeRun = !Files.exists(run);
    Files.createDirectories(run);
    Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwx------"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x")); // the runner reads the ssh config
    Process agent = null;
    try (GnomeKeyring gnome = GnomeKeyring.start(dir.resolve("gnome"), run, "login password");
        Sshd sshd = Sshd.start(Files.createDirectories(dir.resolve("sshd")), dir.resolve("authorized_keys"))) {
      // The machine: a home with an encrypted key, a token, GNOME holding a third key, a git server.
      Path home = gnome.home();
      Path ssh = Files.createDirectories(home.resolve(".ssh"));
      Path fileKey = TestKeys.generate(ssh, "id_ed25519", "ed25519", "laptop key", PASS);
      Files.writeString(dir.resolve("authorized_keys"), TestKeys.publicLine(fileKey) + "\n");
      Path gnomeKey = TestKeys.generate(Files.createDirectories(dir.resolve("gnome-keys")), "gnome_key", "ecdsa-256", "gnome key");
      Map<String, String> toGnome = new HashMap<>(gnome.env());
      toGnome.put("SSH_AUTH_SOCK", gnome.sshSocket().toString());
      Proc.run(T, toGnome, "/usr/bin/ssh-add", gnomeKey.toString()).assertOk();
      SoftHsm hsm = SoftHsm.create(dir.resolve("hsm"));
      hsm.initToken("my-token", "123456");
      hsm.generate("my-token", "123456", "EC:prime256v1", "01", "token key");
      // The machine's ssh configuration for git.example, readable by the runner's account too.
      Path sshConf = Files.createDirectories(dir.resolve("ssh-conf"));
      Files.setPosixFilePermissions(sshConf, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.writeString(sshConf.resolve("known_hosts"), "git.example " + TestKeys.publicLine(sshd.hostKeyPub()) + "\n");
      Files.writeString(sshConf.resolve("config"), "Host git.example\n  HostName 127.0.0.1\n  Port " + sshd.port()
          + "\n  User " + System.getProperty("user.name") + "\n  HostKeyAlias git.example\n  UserKnownHostsFile "
          + sshConf.resolve("known_hosts") + "\n  BatchMode yes\n");
      Files.copy(sshConf.resolve("known_hosts"), ssh.resolve("known_hosts")); // keymux names destinations from it
      Path repo = dir.resolve("app.git");
      Proc.run(T, Map.of(), "/usr/bin/git", "init", "-q", "--bare", repo.toString()).assertOk();
      Path askLog = dir.resolve("askpass.log");
      // The user's answers: the passphrase when asked for it, yes to every question.
      Path askpass = Files.writeString(dir.resolve("askpass.sh"), "#!/bin/sh\nprintf 'prompt=%s\\nhint=%s\\n' \"$1\" "
          + "\"$SSH_ASKPASS_PROMPT\" >> '" + askLog + "'\nif [ \"$SSH_ASKPASS_PROMPT\" = confirm ]; then echo yes; else echo '" + PASS
          + "'; fi\n");
      Files.setPosixFilePermissions(askpass, PosixFilePermissions.fromString("rwx------"));
      Path bin = Files.createDirectories(dir.resolve("bin"));
      Files.writeString(bin.resolve("keymux"), "#!/bin/sh\nexec " + String.join(" ", KeymuxProcess.command().stream()
          .map(w -> "'" + w + "'").toList()) + " \"$@\"\n");
      Files.setPosixFilePermissions(bin.resolve("keymux"), PosixFilePermissions.fromString("rwxr-xr-x"));

      // The session's environment: GNOME's agent owns SSH_AUTH_SOCK, as after a desktop login.
      Map<String, String> session = new HashMap<>(gnome.env());
      session.put("PATH", bin + ":/usr/bin:/bin");
      session.put("SSH_AUTH_SOCK", gnome.sshSocket().toString());
      session.put("SOFTHSM2_CONF", hsm.env().get("SOFTHSM2_CONF"));
      session.put("GIT_CONFIG_GLOBAL", Files.writeString(dir.resolve("gitconfig"),
          "[user]\n  name = Story\n  email = story@example.invalid\n[init]\n  defaultBranch = main\n").toString());
      session.put("REPO", "git.example:" + repo);
      session.put("SHELL", "/bin/sh");
      session.put("IMAGE", ContainerTest.IMAGE);
      Path deployKey = TestKeys.generate(Files.createDirectories(home.resolve("deploy")), "deploy-app", "ed25519", "deploy-app");
      // ssh reads ~/.ssh/config of the passwd entry's home, not $HOME's: name this home's.
      session.put("GIT_SSH_COMMAND", "ssh -F " + sshConf.resolve("config"));
      // The runner's deploy key, tagged with its repository, which only it may read.
      Path runnerKey = TestKeys.generate(Files.createDirectories(dir.resolve("runner-key")), "deploy_runner", "ed25519", "runner");
      Path deployRepo = dir.resolve("deploy.git");
      Proc.run(T, Map.of(), "/usr/bin/git", "init", "-q", "--bare", deployRepo.toString()).assertOk();
      Files.writeString(dir.resolve("authorized_keys"), TestKeys.publicLine(runnerKey) + "\n", java.nio.file.StandardOpenOption.APPEND);
      session.put("DEPLOY_REPO", "git.example:" + deployRepo);
      Files.writeString(home.resolve("runner-keys"), "# repo: " + session.get("DEPLOY_REPO") + "\n" + Files.readString(runnerKey));
      // keymux as a package installs it, for `sudo keymux` (sudo's secure_path).
      Files.createDirectories(INSTALLED.getParent());
      Files.copy(KeymuxProcess.jar(), INSTALLED);
      Files.writeString(Path.of("/usr/local/bin/keymux"), "#!/bin/sh\nexec '" + KeymuxProcess.javaBinary() + "' -jar '" + INSTALLED
          + "' \"$@\"\n");
      Files.setPosixFilePermissions(Path.of("/usr/local/bin/keymux"), PosixFilePermissions.fromString("rwxr-xr-x"));
      Proc.run(T, Map.of(), "/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/bin/sh", RUNNER).assertOk();
      int runnerUid = Integer.parseInt(Proc.run(T, Map.of(), "/usr/bin/id", "-u", RUNNER).assertOk().stdout().strip());
      int runnerGid = Integer.parseInt(Proc.run(T, Map.of(), "/usr/bin/id", "-g", RUNNER).assertOk().stdout().strip());

      // 1. Login.
      Proc.Result installed = step(steps, "install", session, true);
      Path unit = home.resolve(".config/systemd/user/keymux.service");
      assertTrue(Files.isRegularFile(unit), installed.toString());
      if (!Files.isDirectory(Path.of("/run/systemd/system"))) {
        assertEquals(1, installed.exitCode(), "no user manager here to enable it: " + installed);
        assertTrue(installed.stderr().contains("could not enable keymux.socket"), installed.toString());
      } else {
        installed.assertOk();
      }
      Path conf = home.resolve(".config/keymux/keymux.conf");
      Files.writeString(conf, Files.readString(conf) + steps.get("hocon").replace("/usr/lib/softhsm/libsofthsm2.so", SoftHsm.MODULE)
          + "keymux.policy.audit-log = \"" + dir.resolve("audit.log") + "\"\n");
      agent = activate(unit, run.resolve("keymux/agent.sock"), session, askpass, dir.resolve("keymux.log"));

      Proc.Result doctor = step(steps, "doctor", session);
      assertTrue(doctor.stdout().contains("PROBLEM  SSH_AUTH_SOCK points at GNOME Keyring's agent (" + gnome.sshSocket() + ")"),
          doctor.stdout());
      assertTrue(doctor.stdout().contains("eval \"$(keymux env)\""), doctor.stdout());
      assertTrue(doctor.stdout().contains("OK       keymux answers on " + run.resolve("keymux/agent.sock")), doctor.stdout());

      String listed = step(steps, "login", session).assertOk().stdout();
      for (Path key : List.of(fileKey, gnomeKey)) {
        assertTrue(listed.contains(TestKeys.fingerprint(key)), key + " through the one socket:\n" + listed);
      }
      assertTrue(listed.contains("token key") || listed.lines().count() == 3, "the token's key too:\n" + listed);
      assertEquals(3, listed.lines().count(), listed);
      assertEquals(0, prompts(askLog), "listing asks for nothing");

      // 2. One prompt per login: two terminals, a tmux pane, then a client that reconnects.
      Proc.run(T, session, "/usr/bin/git", "clone", "-q", "--no-checkout", repo.toString(), home.resolve("app").toString())
          .assertOk(); // a local clone; its origin is then the ssh URL
      Proc.run(T, session, "/usr/bin/git", "-C", home.resolve("app").toString(), "remote", "set-url", "origin",
          session.get("REPO")).assertOk();
      step(steps, "push", session).assertOk();
      step(steps, "push", session).assertOk();
      Path done = dir.resolve("tmux-push.status");
      Path script = Files.writeString(dir.resolve("push.sh"), steps.get("push"));
      Path paneLog = dir.resolve("tmux-push.log");
      try (Tmux tmux = Tmux.start(dir, session, "/bin/sh -e " + script + " > " + paneLog + " 2>&1; echo $? > " + done
          + "; sleep 120")) {
        long deadline = System.currentTimeMillis() + 60_000;
        while (!Files.exists(done) && System.currentTimeMillis() < deadline) {
          Thread.sleep(100);
        }
        assertEquals("0", Files.exists(done) ? Files.readString(done).strip() : "(none)", () -> SocketActivationTest.read(paneLog));
        assertTrue(tmux.paneTty().toString().startsWith("/dev/pts/"), "a terminal of its own");
      }
      step(steps, "push", session).assertOk(); // the reconnecting client: a new connection, the same agent
      List<String> asked = Files.readAllLines(askLog).stream().filter(l -> l.startsWith("prompt=")).toList();
      assertEquals(List.of("prompt=Enter passphrase for " + fileKey + ": ",
          "prompt=Remember the passphrase of " + fileKey + " in your keyring?"), asked,
          "one passphrase prompt for the whole login, and once the offer to keep it in GNOME Keyring");
      Proc.Result pushed = Proc.run(T, Map.of(), "/usr/bin/git", "--git-dir", repo.toString(), "log", "--oneline", "--all");
      assertEquals(4, pushed.assertOk().stdout().lines().count(), pushed.toString());

      // 3. Before any graphical login: no XDG_RUNTIME_DIR, the same agent.
      Proc.Result before = step(steps, "before-login", session).assertOk();
      assertTrue(before.stdout().startsWith(run.resolve("keymux/agent.sock") + "\n"), before.toString());
      assertEquals(4, before.stdout().lines().count(), "the path and the same three keys: " + before);

      // 4. The sudo wrapper: sudo drops SSH_AUTH_SOCK; a confirmed grant hands the key over for 20 s.
      Proc.Result sudo = step(steps, "sudo", session).assertOk();
      Path grantSocket = Path.of(sudo.stdout().strip());
      assertTrue(grantSocket.getFileName().toString().equals("agent.sock") && grantSocket.getParent().getFileName().toString()
          .startsWith("keymux-grant-"), sudo.toString());
      List<String> confirm = Files.readAllLines(askLog).stream().filter(l -> l.startsWith("prompt=")).skip(2).toList();
      assertEquals(1, confirm.size(), "one confirmation for the one signature through the grant: " + confirm);
      String question = Files.readString(askLog);
      question = question.substring(question.indexOf(confirm.get(0)));
      assertTrue(confirm.get(0).contains("laptop key") && question.contains("through socket grant-"),
          "the question names the key and the grant's socket: " + question);
      long deadline = System.currentTimeMillis() + 40_000;
      while (Files.exists(grantSocket.getParent(), LinkOption.NOFOLLOW_LINKS) && System.currentTimeMillis() < deadline) {
        Thread.sleep(200); // the socket goes first, then its directory
      }
      assertFalse(Files.exists(grantSocket.getParent()), "the grant ended on time, its directory with it");
      Map<String, String> later = new HashMap<>(session);
      later.put("sock", grantSocket.toString());
      Proc.Result expired = step(steps, "sudo-expired", later);
      assertNotEquals(0, expired.exitCode(), expired.toString());
      assertTrue(expired.stderr().contains("Permission denied (publickey)")
          && expired.stderr().contains("Error connecting to agent: No such file or directory"), expired.toString());

      // 5. The runner: its account's agent, started by "systemd" on its first job's connection.
      Proc.Result runner = step(steps, "runner", session, true);
      if (!Files.isDirectory(Path.of("/run/systemd/system"))) {
        assertEquals(1, runner.exitCode(), "no systemd here to enable it: " + runner);
        assertTrue(runner.stderr().contains("could not enable keymux@" + RUNNER + ".socket"), runner.toString());
      } else {
        runner.assertOk();
      }
      assertTrue(runner.stdout().contains("copied the deploy keys to /etc/keymux/" + RUNNER + "/keys"), runner.toString());
      try (SystemInstance service = SystemInstance.start(Path.of("/etc/systemd/system"), RUNNER, runnerUid, runnerGid, dir)) {
        Proc.Result job = step(steps, "runner-job", session).assertOk();
        assertTrue(Files.isDirectory(Path.of("/tmp/ci-runner-app/.git")), job + "\n" + service.log());
        assertTrue(job.stdout().contains("The agent has no identities."), "a tagged deploy key is for git only: " + job);
        assertFalse(job.stdout().contains(TestKeys.fingerprint(fileKey)), "none of the user's keys: " + job);
      }

      // 6. The container step: a scoped socket mounted into a container of uid 1000, no network.
      Proc.Result container = step(steps, "container", session).assertOk();
      String inside = container.stdout();
      String listedInside = inside.substring(0, inside.indexOf("-----BEGIN SSH SIGNATURE-----"));
      assertEquals(1, listedInside.strip().lines().count(), "the deploy key and nothing else: " + container);
      assertTrue(listedInside.contains(TestKeys.fingerprint(deployKey)) && listedInside.contains("deploy-app"), container.toString());
      Path sig = Files.writeString(dir.resolve("release.sig"), inside.substring(inside.indexOf("-----BEGIN SSH SIGNATURE-----")));
      Path signers = Files.writeString(dir.resolve("allowed_signers"), "deployer " + TestKeys.publicLine(deployKey) + "\n");
      Proc.run(T, Map.of(), "release 1.0\n".getBytes(java.nio.charset.StandardCharsets.UTF_8), "/usr/bin/ssh-keygen", "-Y",
          "verify", "-f", signers.toString(), "-I", "deployer", "-n", "file", "-s", sig.toString()).assertOk();

      // 7. The record: one line per signature of the user's agent — four pushes, the fetch through
      // the grant, the signature in the container — each naming key, client and destination. (The
      // runner's agent is the runner's own.)
      List<String> audit = Files.readAllLines(dir.resolve("audit.log"));
      assertEquals(6, audit.size(), String.join("\n", audit));
      for (String line : audit.subList(0, 5)) {
        assertTrue(line.contains("key=" + TestKeys.fingerprint(fileKey)) && line.contains("exe=/usr/bin/ssh ")
            && line.contains("destination=git.example") && line.contains("result=signed"), String.join("\n", audit));
      }
      assertEquals(1, audit.stream().filter(l -> l.contains("socket=grant-") && l.contains("decision=confirm")).count(),
          String.join("\n", audit));
      String inContainer = audit.get(5);
      assertTrue(inContainer.contains("socket=container uid=1000") && inContainer.contains("key=" + TestKeys.fingerprint(deployKey))
          && inContainer.contains("result=signed"), inContainer);
      assertFalse(String.join("\n", audit).contains("PRIVATE"), "no key material in the record");
      // The story ends: the agent stops (SIGTERM, as systemd stops it). Only systemd's socket stays.
      agent.destroy();
      agent.waitFor();
      // The scoped socket's directory stays, empty, on purpose: a container that mounted it sees
      // the socket again when keymux comes back (AgentServer.close).
      try (var left = Files.walk(run.resolve("keymux"))) {
        assertEquals(List.of(run.resolve("keymux"), run.resolve("keymux/agent.sock"), run.resolve("keymux/container")),
            left.sorted().toList(), "no socket, log or file of keymux's own left under XDG_RUNTIME_DIR; agent.sock is systemd's");
      }
    } finally {
      if (agent != null && agent.isAlive()) {
        agent.destroy(); // SIGTERM: keymux ends its grants and removes their sockets
        if (!agent.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
          agent.destroyForcibly();
        }
      }
      Proc.run(T, Map.of(), "/usr/bin/pkill", "-KILL", "-u", RUNNER);
      if (Files.exists(INSTALLED)) {
        Proc.run(T, Map.of(), "/usr/local/bin/keymux", "uninstall", "--system", "--account", RUNNER, "--no-disable");
      }
      Proc.run(T, Map.of(), "/usr/sbin/userdel", RUNNER);
      Proc.run(T, Map.of(), "/bin/rm", "-rf", "/usr/local/bin/keymux", INSTALLED.getParent().toString(), "/etc/keymux/" + RUNNER,
          "/run/keymux/" + RUNNER, "/tmp/ci-runner-app");
      for (Path p : madeParents) {
        Files.deleteIfExists(p); // made by this story and empty now; otherwise it stays
      }
      if (madeRun) {
        Proc.run(T, Map.of(), "/bin/rm", "-rf", run.toString());
      }
    }
    try (var left = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      List<String> litter = left.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("keymux-" + uid)).toList();
      assertEquals(List.of(), litter, "no fallback socket directory left in /tmp");
    }
  }

  private Proc.Result step(Map<String, String> steps, String name, Map<String, String> env) {
    return step(steps, name, env, false);
  }

  /** Runs one step's block under sh -e; {@code slow}: it may take a training run's time. */
  private Proc.Result step(Map<String, String> steps, String name, Map<String, String> env, boolean slow) {
    String script = steps.get(name);
    assertNotNull(script, "no step " + name + " in docs/walkthrough.md");
    return Proc.run(slow ? Duration.ofMinutes(4) : T, env, "/bin/sh", "-e", "-c", script);
  }

  /** keymux.service's ExecStart under systemd-socket-activate, as systemd runs it on the first connection. */
  private Process activate(Path unit, Path socket, Map<String, String> session, Path askpass, Path log) throws Exception {
    Files.createDirectories(socket.getParent());
    Files.setPosixFilePermissions(socket.getParent(), PosixFilePermissions.fromString("rwx------"));
    String exec = Files.readString(unit).lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow()
        .substring("ExecStart=".length());
    assertFalse(exec.contains("\"") || exec.contains("'"), "plain words in this test's paths: " + exec);
    List<String> cmd = new ArrayList<>(List.of(ACTIVATE, "-l", socket.toString()));
    for (String v : List.of("HOME", "XDG_RUNTIME_DIR", "XDG_DATA_HOME", "DBUS_SESSION_BUS_ADDRESS", "SOFTHSM2_CONF", "PATH")) {
      cmd.addAll(List.of("-E", v + "=" + session.get(v)));
    }
    // The session's askpass, as a desktop session hands it to its user manager.
    cmd.addAll(List.of("-E", "SSH_ASKPASS=" + askpass, "-E", "SSH_ASKPASS_REQUIRE=force"));
    cmd.addAll(List.of(exec.split(" ")));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.currentTimeMillis() + 20_000;
    while (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
      assertTrue(p.isAlive() && System.currentTimeMillis() < deadline, () -> SocketActivationTest.read(log));
      Thread.sleep(20);
    }
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------")); // SocketMode=0600
    return p;
  }

  private static long prompts(Path log) throws Exception {
    return Files.exists(log) ? Files.readAllLines(log).stream().filter(l -> l.startsWith("prompt=")).count() : 0;
  }
}
