package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.client.AgentClient;
import dev.keymux.core.server.Posix;
import dev.keymux.testing.Askpass;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keymux grant}: real Unix users (made with useradd), real OpenSSH tools run as them with
 * runuser/setpriv, signatures checked with ssh-keygen. Both directions: keymux run by root granting
 * a user, and keymux run by a user granting root and a third uid — the case where keymux cannot
 * hand the socket over and the kernel's peer credentials must keep everyone else out.
 */
class GrantTest {
  static final Duration T = Duration.ofSeconds(60);
  static final String USER = "kmxgranttest";
  /** A uid with no account: anyone who is neither granted nor keymux's own user. */
  static final int STRANGER = 4242;
  static int userUid;

  @TempDir Path dir;

  @BeforeAll
  static void createUser() {
    RealComponents.require("other-uid", Posix.currentUid() == 0 && RealComponents.commandExists("/usr/sbin/useradd")
        && RealComponents.commandExists("/usr/sbin/runuser") && RealComponents.commandExists("/usr/bin/setpriv"),
        "grants across users need root, useradd, runuser and setpriv");
    removeUser(); // a leftover of an interrupted run
    Proc.run(T, Map.of(), "/usr/sbin/useradd", "--no-create-home", "--shell", "/bin/sh", USER).assertOk();
    userUid = Integer.parseInt(Proc.run(T, Map.of(), "/usr/bin/id", "-u", USER).assertOk().stdout().trim());
  }

  @AfterAll
  static void removeUser() {
    Proc.run(T, Map.of(), "/usr/bin/pkill", "-KILL", "-u", USER);
    Proc.run(T, Map.of(), "/usr/sbin/userdel", USER);
  }

  /** A directory everyone can enter, owned by {@code uid}: test users cannot reach a 0700 @TempDir. */
  private Path sharedDir(String name, int uid) throws Exception {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    Path d = Files.createDirectories(dir.resolve(name));
    Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setAttribute(d, "unix:uid", uid);
    return d;
  }

  private static Proc.Result as(String user, Path socket, String... command) {
    List<String> cmd = new ArrayList<>(List.of("/usr/sbin/runuser", "-u", user, "--", "/usr/bin/env",
        "SSH_AUTH_SOCK=" + socket));
    cmd.addAll(List.of(command));
    return Proc.run(T, Map.of(), cmd.toArray(String[]::new));
  }

  private static Proc.Result asUid(int uid, Path socket, String... command) {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups",
        "/usr/bin/env", "SSH_AUTH_SOCK=" + socket));
    cmd.addAll(List.of(command));
    return Proc.run(T, Map.of(), cmd.toArray(String[]::new));
  }

  /** Runs {@code base} (a keymux command line) with {@code args}. */
  private static Proc.Result keymux(List<String> base, String... args) {
    List<String> cmd = new ArrayList<>(base);
    cmd.addAll(List.of(args));
    return Proc.run(T, Map.of(), cmd.toArray(String[]::new));
  }


  /** Signs a file in {@code work} with the agent key whose public half is {@code pub}; true if the signature verifies. */
  private static boolean signs(Proc.Result signing, Path pub, Path data) {
    if (signing.exitCode() != 0) {
      return false;
    }
    return Proc.run(T, Map.of(), new byte[0], "/bin/sh", "-c",
        "/usr/bin/ssh-keygen -Y check-novalidate -n file -f \"$1\" -s \"$2\" < \"$3\"", "sh", pub.toString(),
        data + ".sig", data.toString()).exitCode() == 0;
  }

  @Test
  void rootGrantsAUserOneKeyThatEndsOnTime() throws Exception {
    Path keys = Files.createDirectories(dir.resolve("keys"));
    Path deploy = TestKeys.generate(keys, "deploy", "ed25519", "deploy-web");
    Path personal = TestKeys.generate(keys, "personal", "ed25519", "personal");
    Path work = sharedDir("work", userUid);
    Files.copy(Path.of(deploy + ".pub"), work.resolve("deploy.pub"));
    Files.copy(Path.of(personal + ".pub"), work.resolve("personal.pub"));
    Files.writeString(work.resolve("data"), "release 1.2\n");
    Proc.run(T, Map.of(), "/bin/chown", "-R", USER, work.toString()).assertOk();

    try (KeymuxProcess k = KeymuxProcess.start(dir, Map.of())) {
      Proc.run(T, k.env(), "/usr/bin/ssh-add", deploy.toString(), personal.toString()).assertOk();
      Path main = k.socket;

      // Without a grant the user gets nowhere.
      assertEquals(2, as(USER, main, "/usr/bin/ssh-add", "-l").exitCode(), "no grant, no agent");

      Proc.Result granted = keymux(KeymuxProcess.command(), "grant", "--socket", main.toString(), "--uid", USER, "--keys", "deploy-*",
          "--for", "5s").assertOk();
      String out = granted.stdout();
      assertTrue(out.contains("Granted uid " + userUid + " (" + USER + ") 1 key(s) for 5s"), out);
      assertTrue(out.contains(TestKeys.fingerprint(deploy) + " deploy-web"), out);
      Path socket = Path.of(out.lines().filter(l -> l.startsWith("SSH_AUTH_SOCK=")).findFirst().orElseThrow()
          .substring("SSH_AUTH_SOCK=".length()));
      String id = out.lines().filter(l -> l.startsWith("Ends early with: keymux revoke ")).findFirst().orElseThrow()
          .substring("Ends early with: keymux revoke ".length());

      assertEquals(0, (Integer) Files.getAttribute(socket.getParent(), "unix:uid"), "the directory stays keymux's");
      // The user sees and signs with the granted key only.
      Proc.Result listed = as(USER, socket, "/usr/bin/ssh-add", "-L").assertOk();
      assertEquals(List.of(TestKeys.publicLine(deploy)), listed.stdout().lines().toList());
      Path data = work.resolve("data");
      assertTrue(signs(as(USER, socket, "/usr/bin/ssh-keygen", "-Y", "sign", "-n", "file", "-f",
          work.resolve("deploy.pub").toString(), data.toString()), Path.of(deploy + ".pub"), data),
          "the granted key signs for the user");
      Files.deleteIfExists(Path.of(data + ".sig"));
      assertFalse(signs(as(USER, socket, "/usr/bin/ssh-keygen", "-Y", "sign", "-n", "file", "-f",
          work.resolve("personal.pub").toString(), data.toString()), Path.of(personal + ".pub"), data),
          "a key outside the grant does not sign");
      // The grant cannot be used to change keymux, nor to make more grants (even by keymux's own user).
      assertNotEquals(0, as(USER, socket, "/usr/bin/ssh-add", "-D").exitCode());
      Proc.Result regrant = keymux(KeymuxProcess.command(), "grant", "--socket", socket.toString(), "--uid", "0",
          "--keys", "*");
      assertEquals(1, regrant.exitCode(), regrant.toString());
      assertTrue(regrant.stderr().contains("grants are made on keymux's main socket"), regrant.stderr());
      assertEquals(2, Proc.run(T, k.env(), "/usr/bin/ssh-add", "-l").stdout().lines().count());

      Proc.Result grants = keymux(KeymuxProcess.command(), "grants", "--socket", main.toString()).assertOk();
      assertTrue(grants.stdout().contains(id) && grants.stdout().contains(userUid + " (" + USER + ")")
          && grants.stdout().contains(socket.toString()), grants.stdout());

      // After expiry the socket and its directory are gone.
      long deadline = System.currentTimeMillis() + 10_000;
      while (Files.exists(socket) && System.currentTimeMillis() < deadline) {
        Thread.sleep(100);
      }
      assertFalse(Files.exists(socket), "socket removed on expiry");
      assertFalse(Files.exists(socket.getParent()), "its directory too");
      assertEquals(2, as(USER, socket, "/usr/bin/ssh-add", "-l").exitCode());
      assertTrue(keymux(KeymuxProcess.command(), "grants", "--socket", main.toString()).assertOk().stdout().contains("No live grants."));
      assertTrue(k.log().contains("grant " + id + " for uid " + userUid + " expired"), k.log());
    }
  }

  @Test
  void aConfirmingGrantAsksTheOwnerBeforeEachSignature() throws Exception {
    Path keys = Files.createDirectories(dir.resolve("keys"));
    Path deploy = TestKeys.generate(keys, "deploy", "ed25519", "deploy-web");
    Path work = sharedDir("work", userUid);
    Files.copy(Path.of(deploy + ".pub"), work.resolve("deploy.pub"));
    Path data = Files.writeString(work.resolve("data"), "tag v2\n");
    Proc.run(T, Map.of(), "/bin/chown", "-R", USER, work.toString()).assertOk();
    Path prompts = dir.resolve("prompts");
    try (KeymuxProcess k = KeymuxProcess.start(dir, Askpass.env(Askpass.recording(dir, "yes", prompts)))) {
      Proc.run(T, k.env(), "/usr/bin/ssh-add", deploy.toString()).assertOk();
      Path socket = Path.of(keymux(KeymuxProcess.command(), "grant", "--socket", k.socket.toString(), "--uid",
          Integer.toString(userUid), "--keys", TestKeys.fingerprint(deploy), "--confirm", "-q").assertOk().stdout().trim());
      assertTrue(signs(as(USER, socket, "/usr/bin/ssh-keygen", "-Y", "sign", "-n", "file", "-f",
          work.resolve("deploy.pub").toString(), data.toString()), Path.of(deploy + ".pub"), data));
      String asked = Files.readString(prompts);
      assertTrue(asked.contains("deploy-web") && asked.contains("ssh-keygen")
          && asked.contains("through socket grant-" + socket.getParent().getFileName().toString().substring(13)), asked);
    }
  }

  @Test
  void aUserGrantsRootAndAnotherUidWhileEveryoneElseIsRefused() throws Exception {
    // keymux runs as the user, from a copy of the jar the user can read.
    Path home = sharedDir("home", userUid);
    Path jar = home.resolve("keymux.jar");
    Files.copy(KeymuxProcess.jar(), jar);
    Path keys = Files.createDirectories(home.resolve("keys"));
    Path deploy = TestKeys.generate(keys, "deploy", "ecdsa-256", "deploy-ci");
    Path personal = TestKeys.generate(keys, "personal", "ed25519", "personal");
    Path run = home.resolve("run");
    Files.createDirectories(run);
    Proc.run(T, Map.of(), "/bin/chown", "-R", USER, home.toString()).assertOk();
    Path main = run.resolve("agent.sock");
    Path log = dir.resolve("keymux.log");
    List<String> asUser = List.of("/usr/sbin/runuser", "-u", USER, "--", "/usr/bin/env", "-i", "HOME=" + home,
        "PATH=/usr/bin:/bin");
    List<String> serve = new ArrayList<>(asUser);
    serve.addAll(List.of(KeymuxProcess.javaBinary(), "-jar", jar.toString(), "serve", "-a", main.toString()));
    Process keymux = new ProcessBuilder(serve).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      long deadline = System.currentTimeMillis() + 20_000;
      while (!AgentClient.answers(main)) {
        assertTrue(keymux.isAlive() && System.currentTimeMillis() < deadline, "keymux started:\n" + Files.readString(log));
        Thread.sleep(50);
      }
      as(USER, main, "/usr/bin/ssh-add", deploy.toString(), personal.toString()).assertOk();
      List<String> userKeymux = new ArrayList<>(asUser);
      userKeymux.addAll(List.of(KeymuxProcess.javaBinary(), "-jar", jar.toString()));

      // Root cannot grant itself keys from the user's keymux.
      Proc.Result self = keymux(KeymuxProcess.command(), "grant", "--socket", main.toString(), "--uid", "0", "--keys", "deploy-*");
      assertEquals(1, self.exitCode(), self.toString());
      assertTrue(self.stderr().contains("grants are made by the user keymux runs as (uid " + userUid + ")"), self.stderr());

      // No key matches: refused with the keys there are.
      Proc.Result none = keymux(userKeymux, "grant", "--socket", main.toString(), "--uid", "0", "--keys", "deploy-web");
      assertEquals(1, none.exitCode(), none.toString());
      assertTrue(none.stderr().contains("no key matches deploy-web; keys keymux holds: deploy-ci, personal"), none.stderr());

      Proc.Result tooLong = keymux(userKeymux, "grant", "--socket", main.toString(), "--uid", "0", "--keys", "deploy-*",
          "--for", "2d");
      assertEquals(1, tooLong.exitCode(), tooLong.toString());
      assertTrue(tooLong.stderr().contains("at most 1d (keymux.grants.max-lifetime); asked for 2d"), tooLong.stderr());

      // The user grants root: sudo SSH_AUTH_SOCK=... works for the deploy key only.
      Path forRoot = Path.of(keymux(userKeymux, "grant", "--socket", main.toString(), "--uid", "0", "--keys", "deploy-*",
          "--for", "10m", "-q").assertOk().stdout().trim());
      assertEquals(List.of(TestKeys.publicLine(deploy)),
          Proc.run(T, Map.of("SSH_AUTH_SOCK", forRoot.toString()), "/usr/bin/ssh-add", "-L").assertOk().stdout().lines().toList());
      Path data = Files.writeString(dir.resolve("data"), "payload\n");
      assertTrue(signs(Proc.run(T, Map.of("SSH_AUTH_SOCK", forRoot.toString()), "/usr/bin/ssh-keygen", "-Y", "sign", "-n",
          "file", "-f", deploy + ".pub", data.toString()), Path.of(deploy + ".pub"), data), "root signs with the grant");
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(forRoot)));
      assertEquals(2, asUid(STRANGER, forRoot, "/usr/bin/ssh-add", "-l").exitCode(), "a stranger cannot use root's grant");

      // A grant for a third uid: keymux (not root) cannot chown, so the file is open and the peer check decides.
      Path forOther = Path.of(keymux(userKeymux, "grant", "--socket", main.toString(), "--uid", "65534", "--keys",
          "deploy-*", "--for", "10m", "-q").assertOk().stdout().trim());
      assertEquals(userUid, (Integer) Files.getAttribute(forOther.getParent(), "unix:uid"), "never the grantee's");
      assertEquals(List.of(TestKeys.publicLine(deploy)),
          asUid(65534, forOther, "/usr/bin/ssh-add", "-L").assertOk().stdout().lines().toList());
      Proc.Result stranger = asUid(STRANGER, forOther, "/usr/bin/ssh-add", "-L");
      assertTrue(stranger.exitCode() != 0 && !stranger.stdout().contains("ecdsa"),
          "uid " + STRANGER + " reaches the socket file but the peer check refuses it: " + stranger);
      assertEquals(2, asUid(65534, main, "/usr/bin/ssh-add", "-l").exitCode(), "the grant does not open the main socket");

      // Revoke: gone at once.
      String listing = keymux(userKeymux, "grants", "--socket", main.toString()).assertOk().stdout();
      String otherId = forOther.getParent().getFileName().toString().substring("keymux-grant-".length());
      assertTrue(listing.contains(otherId) && listing.contains("65534"), listing);
      keymux(userKeymux, "revoke", "--socket", main.toString(), otherId).assertOk();
      assertFalse(Files.exists(forOther), "revoked socket removed");
      assertEquals(2, asUid(65534, forOther, "/usr/bin/ssh-add", "-l").exitCode());
      assertTrue(Files.exists(forRoot), "other grants stay");
      Proc.Result unknown = keymux(userKeymux, "revoke", "--socket", main.toString(), otherId);
      assertEquals(1, unknown.exitCode());
      assertTrue(unknown.stderr().contains("no live grant " + otherId), unknown.stderr());
      keymux.destroy();
      assertTrue(keymux.waitFor(15, TimeUnit.SECONDS), "keymux stops on SIGTERM");
      assertFalse(Files.exists(forRoot.getParent()), "keymux stopping ends its grants:\n" + Files.readString(log));
    } finally {
      keymux.descendants().forEach(ProcessHandle::destroyForcibly); // runuser does not pass SIGKILL on
      keymux.destroyForcibly();
    }
  }
}
