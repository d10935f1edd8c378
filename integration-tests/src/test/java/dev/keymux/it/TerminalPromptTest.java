package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.Sshd;
import dev.keymux.testing.TestKeys;
import dev.keymux.testing.Tmux;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * keymux without a display and without a terminal of its own, as a systemd service runs it; the
 * user types into a terminal (a tmux pane) where OpenSSH's clients run. The question appears in
 * that terminal through pinentry-curses, names the key, the client and the destination, and the
 * answer typed there decides: OK gives a signature that verifies, Cancel a refusal. Also a key
 * passphrase typed into pinentry, keymux.prompt = none, and notify-send after each signature.
 */
class TerminalPromptTest {
  static final Duration T = Duration.ofSeconds(60);
  static final String DATA = "the data to sign, never logged\n";
  @TempDir Path dir;
  KeymuxProcess keymux;
  Tmux tmux;

  @AfterEach
  void stop() throws Exception {
    if (tmux != null) {
      tmux.close();
    }
    if (keymux != null) {
      keymux.close();
    }
  }

  static void requireTerminal() {
    RealComponents.require("tty", Tmux.available() && Files.isExecutable(Path.of("/usr/bin/pinentry-curses")),
        "tmux and pinentry-curses are needed (apt-get install tmux pinentry-curses)");
  }

  /** keymux with {@code settings} and no key sources but ssh-add's, no display, no askpass. */
  private KeymuxProcess keymux(String settings, Map<String, String> env) throws Exception {
    Path config = dir.resolve("keymux.conf");
    Files.writeString(config, "keymux { backends { files = null, gnome = null }\n" + settings + "\n}\n");
    return KeymuxProcess.start(Files.createDirectories(dir.resolve("keymux")), env, "--config", config.toString());
  }

  /** A terminal whose shell has SSH_AUTH_SOCK set to keymux; commands are typed into it. */
  private Tmux terminal() {
    Map<String, String> env = new HashMap<>(keymux.env());
    env.put("TERM", "xterm");
    env.put("PS1", "$ ");
    return Tmux.start(dir, env, "exec /bin/sh");
  }

  /** Types {@code command} into the terminal; its exit status lands in {@code name}.rc. */
  private Path run(String name, String command) {
    Path rc = dir.resolve(name + ".rc");
    tmux.type(command + "; echo $? > '" + rc + "'");
    tmux.keys("Enter");
    return rc;
  }

  private static int exitStatus(Path rc) throws Exception {
    long deadline = System.nanoTime() + T.toNanos();
    while (!Files.exists(rc) || Files.readString(rc).isBlank()) {
      assertTrue(System.nanoTime() < deadline, rc + " was not written: the command did not finish");
      Thread.sleep(50);
    }
    return Integer.parseInt(Files.readString(rc).strip());
  }

  private Path data(String name) throws Exception {
    Path data = dir.resolve(name);
    Files.writeString(data, DATA);
    return data;
  }

  /** keymux with prompt = auto holding an ssh-add -c key, and a terminal to sign from; the key's path. */
  private Path confirmKeyOnATerminal() throws Exception {
    requireTerminal();
    Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), "id_ed25519", "ed25519", "it ed25519");
    keymux = keymux("prompt = auto", Map.of());
    Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-c", key.toString()).assertOk();
    tmux = terminal();
    return key;
  }

  private static String sign(Path pub, Path data) {
    return "/usr/bin/ssh-keygen -Y sign -f '" + pub + "' -n file '" + data + "'";
  }

  private void verify(Path pub, Path data) throws Exception {
    Path allowed = dir.resolve("allowed_signers");
    Files.writeString(allowed, "tester " + TestKeys.publicLine(pub) + "\n");
    Proc.run(T, Map.of(), "/bin/sh", "-c", "/usr/bin/ssh-keygen -Y verify -f '" + allowed
        + "' -I tester -n file -s '" + data + ".sig' < '" + data + "'").assertOk();
  }

  @Test
  void anSshAddDashCKeyIsConfirmedWithPinentryOnTheClientsTerminal() throws Exception {
    Path key = confirmKeyOnATerminal();
    Path pub = Path.of(key + ".pub");

    Path yes = data("yes.txt");
    Path rc = run("yes", sign(pub, yes));
    String screen = tmux.waitFor("Allow use of key it ed25519?");
    assertTrue(screen.contains("Key fingerprint " + TestKeys.fingerprint(key) + "."), screen);
    assertTrue(screen.matches("(?s).*Requested by /usr/bin/ssh-keygen \\(pid \\d+\\) \\(destination unknown\\)\\..*"),
        "the client program, and that it named no destination:\n" + screen);
    assertTrue(screen.contains("<OK>") && screen.contains("<Cancel>"), "pinentry-curses draws it:\n" + screen);
    tmux.keys("Enter");
    assertEquals(0, exitStatus(rc), tmux.screen());
    verify(pub, yes);

    Path no = data("no.txt");
    rc = run("no", sign(pub, no));
    tmux.waitFor("<Cancel>");
    tmux.keys("Tab", "Enter");
    assertNotEquals(0, exitStatus(rc), "Cancel refuses the signature");
    assertFalse(Files.exists(Path.of(no + ".sig")));

    String log = keymux.log();
    assertTrue(log.matches("(?s).*asking on /dev/pts/\\d+ \\(the client's terminal\\) with /usr/bin/pinentry-curses.*"), log);
    assertTrue(log.contains("use of key " + TestKeys.fingerprint(key) + " was not confirmed"), log);
    assertFalse(log.contains(DATA.strip()), "the data signed is never logged");
  }

  @Test
  void aBackgroundJobIsNotAskedOnItsTerminal() throws Exception {
    Path key = confirmKeyOnATerminal();
    Path pub = Path.of(key + ".pub");

    // "&" in the interactive shell: a job in its own process group while the shell keeps the terminal
    Path data = data("background.txt");
    Path rc = run("background", sign(pub, data) + " & wait $!");
    assertNotEquals(0, exitStatus(rc), "refused: nobody may be asked");
    assertFalse(Files.exists(Path.of(data + ".sig")));
    assertFalse(tmux.screen().contains("Allow use of key"), "no question on the terminal the shell reads:\n" + tmux.screen());
    String log = keymux.log();
    assertTrue(log.matches("(?s).*confirmation refused without asking: .*the client \\(pid \\d+\\) is not in the foreground"
        + " of its terminal /dev/pts/\\d+.*"), log);

    Path fg = data("foreground.txt");
    rc = run("foreground", sign(pub, fg));
    tmux.waitFor("Allow use of key it ed25519?");
    tmux.keys("Enter");
    assertEquals(0, exitStatus(rc), "the same command in the foreground is asked:\n" + tmux.screen());
    verify(pub, fg);
  }

  @Test
  void aPolicyConfirmRuleNamesTheHostAnSshLoginGoesTo() throws Exception {
    requireTerminal();
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed (apt-get install openssh-server)");
    Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), "id_ed25519", "ed25519", "login key");
    Path authorized = dir.resolve("authorized_keys");
    Files.writeString(authorized, TestKeys.publicLine(key) + "\n");
    try (Sshd sshd = Sshd.start(Files.createDirectories(dir.resolve("sshd")), authorized)) {
      keymux = keymux("""
          prompt = pinentry
          policy.known-hosts = ["%s"]
          rules = [ { name = ask, match { comment = "login key" }, action = confirm } ]
          """.formatted(sshd.knownHosts()), Map.of());
      Proc.run(T, keymux.env(), "/usr/bin/ssh-add", key.toString()).assertOk();
      tmux = terminal();
      Path out = dir.resolve("login.out");
      Path rc = run("login", String.join(" ", sshd.sshCommand("echo logged-in")) + " > '" + out + "'");
      String screen = tmux.waitFor("Allow use of key login key?");
      assertTrue(screen.matches("(?s).*Requested by /usr/bin/ssh \\(pid \\d+\\) for \\[127\\.0\\.0\\.1]:" + sshd.port()
          + "\\..*"), "the destination, named through known_hosts:\n" + screen);
      tmux.keys("Enter");
      assertEquals(0, exitStatus(rc), sshd.log());
      assertEquals("logged-in", Files.readString(out).strip());
    }
  }

  @Test
  void aPassphraseIsTypedIntoPinentryAndNeverLogged() throws Exception {
    requireTerminal();
    String passphrase = "correct horse %41 battery";
    Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), "id_locked", "ed25519", "locked key", passphrase);
    Path pub = Path.of(key + ".pub");
    keymux = keymux("prompt = pinentry\nbackends.mine { type = file, paths = [\"" + key + "\"] }", Map.of());
    tmux = terminal();
    Path data = data("locked.txt");
    Path rc = run("locked", sign(pub, data));
    String screen = tmux.waitFor("Enter passphrase for " + key);
    assertTrue(screen.contains("Passphrase:"), screen);
    tmux.type(passphrase);
    tmux.keys("Enter");
    assertEquals(0, exitStatus(rc), tmux.screen() + keymux.log());
    verify(pub, data);
    assertFalse(keymux.log().contains(passphrase), "the passphrase is never logged");
    assertFalse(tmux.screen().contains(passphrase), "nor shown");
  }

  @Test
  void promptNoneRefusesAConfirmKeyAndTheLogSaysWhyAndWhatToChange() throws Exception {
    Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), "id_ed25519", "ed25519", "it ed25519");
    keymux = keymux("prompt = none", Map.of("SSH_ASKPASS_REQUIRE", "force", "SSH_ASKPASS", "/bin/true"));
    Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-c", key.toString()).assertOk();
    Path data = data("none.txt");
    Proc.Result r = Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", key + ".pub", "-n", "file",
        data.toString());
    assertNotEquals(0, r.exitCode(), "refused, although an askpass that says yes could run");
    assertFalse(Files.exists(Path.of(data + ".sig")));
    assertTrue(keymux.log().contains("confirmation refused without asking: keymux.prompt = none, so keymux asks nobody;"
        + " set keymux.prompt = auto (or askpass, pinentry, tty) to be asked"), keymux.log());
  }

  @Test
  void eachSignatureIsAnnouncedWithNotifySendWhichNeverHoldsItUp() throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path calls = dir.resolve("notify-send.calls");
    // A stand-in for libnotify's notify-send (no notification daemon runs headless): it records
    // its arguments, one per line, then hangs — keymux must neither wait for it nor fail.
    Path notifySend = bin.resolve("notify-send");
    Files.writeString(notifySend, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> '" + calls
        + "'\necho --- >> '" + calls + "'\nexec sleep 30\n");
    Files.setPosixFilePermissions(notifySend, PosixFilePermissions.fromString("rwx------"));
    Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), "id_ed25519", "ed25519", "it ed25519");
    keymux = keymux("notify = true", Map.of("PATH", bin + ":/usr/bin:/bin"));
    Proc.run(T, keymux.env(), "/usr/bin/ssh-add", key.toString()).assertOk();

    long start = System.nanoTime();
    for (int i = 0; i < 2; i++) {
      Path data = data("notify-" + i + ".txt");
      Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", key + ".pub", "-n", "file", data.toString())
          .assertOk();
      verify(Path.of(key + ".pub"), data);
    }
    assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 20, "a hanging notify-send holds nothing up");

    long deadline = System.nanoTime() + T.toNanos();
    while (!Files.exists(calls) || !Files.readString(calls).contains("---")) {
      assertTrue(System.nanoTime() < deadline, "notify-send was not run");
      Thread.sleep(50);
    }
    List<String> args = List.of(Files.readString(calls).split("\n---\n")[0].split("\n"));
    assertEquals("-a", args.get(0));
    assertEquals("keymux", args.get(1));
    assertEquals("Signed with it ed25519", args.get(2));
    assertTrue(args.get(3).matches("/usr/bin/ssh-keygen \\(pid \\d+\\) \\(destination unknown\\)"), args.toString());
    assertEquals(4, args.size(), args.toString());
    assertFalse(Files.readString(calls).contains(DATA.strip()), "never the data signed");
  }

  @Test
  void withoutNotifyNothingIsAnnounced() throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path calls = dir.resolve("notify-send.calls");
    Path notifySend = bin.resolve("notify-send");
    Files.writeString(notifySend, "#!/bin/sh\necho called >> '" + calls + "'\n");
    Files.setPosixFilePermissions(notifySend, PosixFilePermissions.fromString("rwx------"));
    Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), "id_ed25519", "ed25519", "it ed25519");
    keymux = keymux("", Map.of("PATH", bin + ":/usr/bin:/bin"));
    Proc.run(T, keymux.env(), "/usr/bin/ssh-add", key.toString()).assertOk();
    Path data = data("quiet.txt");
    Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", key + ".pub", "-n", "file", data.toString())
        .assertOk();
    Thread.sleep(1000); // with notify = true the stand-in runs within milliseconds of the signature

    assertFalse(Files.exists(calls), "keymux.notify defaults to false");
  }
}
