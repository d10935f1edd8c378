package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.server.Posix;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.Sshd;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keymux install --system --account NAME}: a service account's agent, as a CI runner that
 * systemd starts at boot has it. The units are checked by {@code systemd-analyze verify}; the
 * service is run the way systemd runs it: the socket unit's ExecStartPre lines, then its
 * ExecStart under systemd-socket-activate as the account's uid, with CREDENTIALS_DIRECTORY
 * holding the deploy keys as LoadCredential= hands them over. A real git clone over a real sshd
 * uses the deploy key; another uid cannot use the socket. The tests install into a stand-in root
 * directory ({@code --system-root}), so this machine's /etc is not touched.
 */
class ServiceAccountTest {
  static final Duration T = Duration.ofSeconds(90);
  static final String ACCOUNT = "kmxsvctest";
  static final String ACTIVATE = "/usr/bin/systemd-socket-activate";
  /** A uid with no account: any other user of the machine. */
  static final int STRANGER = 4243;
  static int uid;
  static int gid;
  /** keymux's jar where the account can read it (the build directory may be in root's home). */
  static Path shared;

  @TempDir Path dir;

  @BeforeAll
  static void createAccount() {
    RealComponents.require("other-uid", Posix.currentUid() == 0 && RealComponents.commandExists("/usr/sbin/useradd")
        && RealComponents.commandExists("/usr/bin/setpriv"), "a service account needs root, useradd and setpriv");
    RealComponents.require("systemd", RealComponents.commandExists(ACTIVATE)
        && RealComponents.commandExists("/usr/bin/systemd-analyze"), "systemd-socket-activate and systemd-analyze (apt-get install systemd)");
    removeAccount();
    Proc.run(T, Map.of(), "/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/bin/sh", ACCOUNT).assertOk();
    uid = Integer.parseInt(Proc.run(T, Map.of(), "/usr/bin/id", "-u", ACCOUNT).assertOk().stdout().trim());
    gid = Integer.parseInt(Proc.run(T, Map.of(), "/usr/bin/id", "-g", ACCOUNT).assertOk().stdout().trim());
    try {
      shared = Files.createTempDirectory("keymux-service-account.");
      Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.copy(KeymuxProcess.jar(), shared.resolve("keymux.jar"));
      Files.setPosixFilePermissions(shared.resolve("keymux.jar"), PosixFilePermissions.fromString("rw-r--r--"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @AfterAll
  static void removeAccount() {
    Proc.run(T, Map.of(), "/usr/bin/pkill", "-KILL", "-u", ACCOUNT);
    Proc.run(T, Map.of(), "/usr/sbin/userdel", ACCOUNT);
    if (shared != null) {
      Proc.run(T, Map.of(), "/bin/rm", "-rf", shared.toString());
    }
  }

  /** keymux ARGS from the shared copy of its jar. */
  private static List<String> command(String... args) {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/env", "--default-signal=HUP", KeymuxProcess.javaBinary(), "-jar",
        shared.resolve("keymux.jar").toString()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** The stand-in for /: everyone may pass through it (the account must reach its socket and keys). */
  private Path root() throws Exception {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    Path root = Files.createDirectories(dir.resolve("root"));
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    return root;
  }

  private static Proc.Result keymux(String... args) {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/env", "-i", "PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/root"));
    cmd.addAll(command(args));
    return Proc.run(T, Map.of(), cmd.toArray(String[]::new));
  }

  private static Proc.Result asUid(int who, int group, Map<String, String> env, String... command) {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=" + who, "--regid=" + group, "--clear-groups",
        "/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=/nonexistent"));
    env.forEach((k, v) -> cmd.add(k + "=" + v));
    cmd.addAll(List.of(command));
    return Proc.run(T, Map.of(), cmd.toArray(String[]::new));
  }

  private static List<String> filesUnder(Path p) throws Exception {
    if (!Files.exists(p)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(p)) {
      return s.filter(Files::isRegularFile).map(Path::toString).sorted().toList();
    }
  }

  @Test
  void theServiceOfAnAccountClonesWithItsDeployKeyAndNoOtherUidGetsIn() throws Exception {
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed (apt-get install openssh-server)");
    Path root = root();
    Path keys = Files.createDirectories(dir.resolve("keys"));
    Path deploy = TestKeys.generate(keys, "deploy", "ed25519", "deploy key of the runner");
    Path repo = dir.resolve("repo.git");
    Proc.run(T, Map.of(), "/usr/bin/git", "init", "-q", "--bare", repo.toString()).assertOk();
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    Path authorized = dir.resolve("authorized_keys");
    Files.writeString(authorized, TestKeys.publicLine(deploy) + "\n");
    try (Sshd sshd = Sshd.start(Files.createDirectories(dir.resolve("sshd")), authorized, List.of("MaxAuthTries 1"))) {
      String url = "ssh://" + System.getProperty("user.name") + "@127.0.0.1:" + sshd.port() + repo;
      Path keysFile = dir.resolve("deploy-keys");
      Files.writeString(keysFile, "# repo: " + url + "\n" + Files.readString(deploy));

      Proc.Result installed = keymux("install", "--system", "--account", ACCOUNT, "--keys", keysFile.toString(),
          "--system-root", root.toString(), "--no-enable", "--no-archive");
      installed.assertOk();
      assertTrue(installed.stdout().contains("SSH_AUTH_SOCK='" + root.resolve("run/keymux/" + ACCOUNT + "/agent.sock") + "'"),
          installed.toString());
      Path units = root.resolve("etc/systemd/system");
      Path conf = root.resolve("etc/keymux/" + ACCOUNT);
      Path copied = conf.resolve("keys");
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(copied)));
      assertEquals(0, Files.getAttribute(copied, "unix:uid"));
      assertEquals("rwx--x--x", PosixFilePermissions.toString(Files.getPosixFilePermissions(conf)));
      Proc.run(T, Map.of(), "/usr/bin/systemd-analyze", "verify",
          units.resolve("keymux@" + ACCOUNT + ".service").toString(), units.resolve("keymux@" + ACCOUNT + ".socket").toString())
          .assertOk();

      try (SystemInstance service = SystemInstance.start(units, ACCOUNT, uid, gid, dir)) {
        Path socket = service.socket;
        assertEquals(uid, Files.getAttribute(socket.getParent(), "unix:uid"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent())));
        Path clone = Files.createDirectories(dir.resolve("work"));
        Files.setAttribute(clone, "unix:uid", uid);
        Proc.Result cloned = gitClone(sshd, socket, url, clone.resolve("repo"));
        cloned.assertOk();
        assertTrue(Files.isDirectory(clone.resolve("repo/.git")), cloned.toString());
        Proc.Result listed = asUid(uid, gid, Map.of("SSH_AUTH_SOCK", socket.toString()), "/usr/bin/ssh-add", "-l");
        assertEquals(1, listed.exitCode(), "the deploy key is for git's ssh to its repository only: " + listed);
        Proc.Result stranger = asUid(STRANGER, STRANGER, Map.of("SSH_AUTH_SOCK", socket.toString()), "/usr/bin/ssh-add", "-l");
        assertEquals(2, stranger.exitCode(), "another uid cannot reach the account's agent: " + stranger);
        assertTrue(service.process.isAlive(), service::log);
        String environ = Files.readString(Path.of("/proc", Long.toString(service.process.pid()), "environ"));
        assertFalse(environ.contains("OPENSSH PRIVATE KEY"), "keys never go through the environment");

        // doctor --account, as root: the units, owners and modes, and the one deploy key.
        Proc.Result doctor = keymux("doctor", "--account", ACCOUNT, "--system-root", root.toString());
        String report = doctor.stdout();
        assertTrue(report.contains("OK       " + units.resolve("keymux@.service") + " is installed"), report);
        assertTrue(report.contains("OK       the account's socket " + socket + " is uid " + uid + "'s, mode 0600"), report);
        assertTrue(report.contains("OK       the socket's directory " + socket.getParent() + " is uid " + uid + "'s, mode 0700"), report);
        assertTrue(report.contains("OK       the deploy keys file " + copied + " is uid 0's, mode 0600"), report);
        assertTrue(report.contains("and holds 1 key(s): " + url + " (preloaded)"), report);
        assertTrue(report.contains("PROBLEM  keymux@" + ACCOUNT + ".socket is not enabled"), "installed --no-enable: " + report);
        assertEquals(1, doctor.exitCode(), doctor.toString());
        // The same, run by the account itself.
        Proc.Result own = asUid(uid, gid, Map.of(),
            command("doctor", "--account", ACCOUNT, "--system-root", root.toString()).toArray(String[]::new));
        assertTrue(own.stdout().contains("OK       the deploy keys file " + copied + " is uid 0's, mode 0600")
            && own.stdout().contains("and holds 1 key(s): " + url + " (preloaded)"), own.toString());
      }
    }
  }

  /** git clone as the account, through the agent on {@code socket}, from {@code sshd}. */
  private Proc.Result gitClone(Sshd sshd, Path socket, String url, Path target) {
    List<String> ssh = sshd.sshCommand("true", "-o", "IdentityFile=/nonexistent/id");
    List<String> options = new ArrayList<>(ssh.subList(0, ssh.size() - 2));
    int p = options.indexOf("-p");
    options.remove(p + 1);
    options.remove(p);
    return asUid(uid, gid, Map.of("SSH_AUTH_SOCK", socket.toString(), "GIT_SSH_COMMAND", String.join(" ", options)),
        "/usr/bin/git", "clone", "-q", url, target.toString());
  }

  @Test
  void aDeployKeysFileOthersCanReadStopsTheServiceWithOneClearLine() throws Exception {
    Path root = root();
    Path keysFile = dir.resolve("deploy-keys");
    Files.writeString(keysFile, Files.readString(TestKeys.generate(Files.createDirectories(dir.resolve("k")), "d", "ed25519", "d")));
    keymux("install", "--system", "--account", ACCOUNT, "--keys", keysFile.toString(), "--system-root", root.toString(),
        "--no-enable", "--no-archive").assertOk();
    Path units = root.resolve("etc/systemd/system");
    Path copied = root.resolve("etc/keymux/" + ACCOUNT + "/keys");
    Files.setPosixFilePermissions(copied, PosixFilePermissions.fromString("rw-r--r--")); // an admin's slip
    try (SystemInstance service = SystemInstance.start(units, ACCOUNT, uid, gid, dir)) {
      // The first connection starts keymux, which refuses to run: the client sees the agent go away.
      Proc.Result r = asUid(uid, gid, Map.of("SSH_AUTH_SOCK", service.socket.toString()), "/usr/bin/ssh-add", "-l");
      assertNotEquals(0, r.exitCode(), r.toString());
      long deadline = System.currentTimeMillis() + 20_000;
      while (!service.log().contains("refusing to start") && System.currentTimeMillis() < deadline) {
        Thread.sleep(50);
      }
      List<String> lines = service.log().lines().filter(l -> l.startsWith("keymux:")).toList();
      assertEquals(List.of("keymux: refusing to start: " + copied + " is readable by others (mode 0644), so its deploy keys"
          + " are not secret; make it root's alone: chown root:root " + copied + " && chmod 600 " + copied), lines,
          service.log());
    }
  }

  @Test
  void badInputsGetOneClearErrorAndChangeNothing() throws Exception {
    Path root = root();
    Path keysDir = Files.createDirectories(dir.resolve("k"));
    Path plain = keysDir.resolve("plain");
    Files.writeString(plain, Files.readString(TestKeys.generate(keysDir, "p", "ed25519", "p")));
    Path locked = keysDir.resolve("locked");
    Files.writeString(locked, Files.readString(TestKeys.generate(keysDir, "l", "ed25519", "l", "a passphrase")));
    String r = root.toString();
    Map<String, List<String>> cases = Map.of(
        "no such account: kmxnosuchacct", List.of("--account", "kmxnosuchacct", "--keys", plain.toString()),
        "--keys " + keysDir.resolve("missing") + ": no such file", List.of("--account", ACCOUNT, "--keys", keysDir.resolve("missing").toString()),
        "no deploy keys for " + ACCOUNT, List.of("--account", ACCOUNT),
        "passphrase", List.of("--account", ACCOUNT, "--keys", locked.toString()),
        "not an account name", List.of("--account", "../etc", "--keys", plain.toString()));
    for (Map.Entry<String, List<String>> c : cases.entrySet()) {
      List<String> args = new ArrayList<>(List.of("install", "--system"));
      args.addAll(c.getValue());
      args.addAll(List.of("--system-root", r, "--no-enable", "--no-archive"));
      Proc.Result res = keymux(args.toArray(String[]::new));
      assertEquals(1, res.exitCode(), res.toString());
      assertTrue(res.stderr().startsWith("keymux: ") && res.stderr().contains(c.getKey()) && res.stderr().lines().count() == 1,
          c.getKey() + ":\n" + res);
      assertFalse(res.stderr().contains("PRIVATE KEY"), res.toString());
      assertEquals(List.of(), filesUnder(root), "nothing written for " + c.getKey());
    }
    // Not root: run by the account itself.
    Files.setPosixFilePermissions(plain, PosixFilePermissions.fromString("rw-r--r--"));
    List<String> cmd = new ArrayList<>(command("install", "--system", "--account", ACCOUNT, "--keys",
        plain.toString(), "--system-root", r, "--no-enable", "--no-archive"));
    Proc.Result notRoot = asUid(uid, gid, Map.of(), cmd.toArray(String[]::new));
    assertEquals(1, notRoot.exitCode(), notRoot.toString());
    assertTrue(notRoot.stderr().contains("run it as root (sudo keymux install --system --account " + ACCOUNT + ")"),
        notRoot.toString());
    assertEquals(List.of(), filesUnder(root));
  }

  @Test
  void printShowsTheUnitsUninstallRemovesThemAndEnvNamesTheSocket() throws Exception {
    Path root = root();
    Proc.Result printed = keymux("install", "--system", "--account", ACCOUNT, "--print", "--system-root", root.toString());
    printed.assertOk();
    assertTrue(printed.stdout().contains("# " + root.resolve("etc/systemd/system/keymux@.service")), printed.toString());
    assertTrue(printed.stdout().contains("ProtectHome=yes") && printed.stdout().contains("LoadCredential=keys:"), printed.stdout());
    assertEquals(List.of(), filesUnder(root), "--print changes nothing");

    Path keysFile = dir.resolve("deploy-keys");
    Files.writeString(keysFile, Files.readString(TestKeys.generate(Files.createDirectories(dir.resolve("k")), "d", "ed25519", "d")));
    keymux("install", "--system", "--account", ACCOUNT, "--keys", keysFile.toString(), "--system-root", root.toString(),
        "--no-enable", "--no-archive").assertOk();
    Path units = root.resolve("etc/systemd/system");
    assertTrue(Files.exists(units.resolve("keymux@.service")));
    Proc.Result removed = keymux("uninstall", "--system", "--account", ACCOUNT, "--system-root", root.toString(), "--no-disable");
    removed.assertOk();
    assertFalse(Files.exists(units.resolve("keymux@.service")) || Files.exists(units.resolve("keymux@.socket")), removed.toString());
    assertTrue(Files.exists(root.resolve("etc/keymux/" + ACCOUNT + "/keys")), "the deploy keys stay: " + removed);

    Proc.Result env = keymux("env", "--account", ACCOUNT);
    env.assertOk();
    assertEquals("SSH_AUTH_SOCK='/run/keymux/" + ACCOUNT + "/agent.sock'; export SSH_AUTH_SOCK;\n", env.stdout());
  }
}
