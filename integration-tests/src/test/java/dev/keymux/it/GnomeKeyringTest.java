package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.GnomeKeyring;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real headless GNOME Keyring behind keymux, found with the embedded default configuration. */
class GnomeKeyringTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir Path dir;

  @Test
  void keysGnomeHoldsAppearThroughKeymuxAndSign() throws Exception {
    RealComponents.require("gnome-keyring", GnomeKeyring.available(),
        "apt-get install gnome-keyring dbus-daemon libsecret-tools");
    try (GnomeKeyring gnome = GnomeKeyring.start(dir.resolve("gnome"), "login password")) {
      Path key = TestKeys.generate(dir, "id_gnome", "ed25519", "held by gnome");
      Map<String, String> toGnome = new HashMap<>(gnome.env());
      toGnome.put("SSH_AUTH_SOCK", gnome.sshSocket().toString());
      Proc.run(T, toGnome, "/usr/bin/ssh-add", key.toString()).assertOk();

      // keymux with the default config: its `gnome` backend finds $XDG_RUNTIME_DIR/keyring/ssh.
      try (KeymuxProcess keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("k")),
          Map.of("XDG_RUNTIME_DIR", gnome.env().get("XDG_RUNTIME_DIR")))) {
        String listed = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").assertOk().stdout();
        assertTrue(listed.contains(TestKeys.fingerprint(key)), listed);
        Path data = dir.resolve("d");
        Files.writeString(data, "x\n");
        Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", key + ".pub", "-n", "file", data.toString()).assertOk();
        Path allowed = dir.resolve("allowed");
        Files.writeString(allowed, "t " + TestKeys.publicLine(key) + "\n");
        Proc.run(T, Map.of(), "/bin/sh", "-c", "/usr/bin/ssh-keygen -Y verify -f " + allowed + " -I t -n file -s " + data
            + ".sig < " + data).assertOk();
        String list = Proc.run(T, keymux.env(), KeymuxProcess.command("list").toArray(String[]::new)).assertOk().stdout();
        assertTrue(list.contains("gnome"), list);
      }
    }
  }

  private static final String PASS = "key passphrase";

  /** keymux with HOME holding an encrypted ~/.ssh/id_ed25519, talking to the GNOME session's bus. */
  private KeymuxProcess keymuxWithKey(GnomeKeyring gnome, Path home, Map<String, String> extraEnv, String... args) throws Exception {
    Map<String, String> env = new HashMap<>(extraEnv);
    env.put("XDG_RUNTIME_DIR", gnome.env().get("XDG_RUNTIME_DIR"));
    return KeymuxProcess.start(home, env, args);
  }

  private void signsWith(KeymuxProcess keymux, Path key) throws Exception {
    Path data = dir.resolve("data");
    Files.writeString(data, "y\n");
    Files.deleteIfExists(Path.of(data + ".sig"));
    Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", key + ".pub", "-n", "file", data.toString()).assertOk();
  }

  @Test
  void aPassphraseStoredInGnomeKeyringUnlocksAFileKeyWithoutAPrompt() throws Exception {
    RealComponents.require("gnome-keyring", GnomeKeyring.available(), "apt-get install gnome-keyring dbus-daemon libsecret-tools");
    try (GnomeKeyring gnome = GnomeKeyring.start(dir.resolve("gnome"), "login password")) {
      Path home = Files.createDirectories(dir.resolve("home"));
      Path key = TestKeys.generate(Files.createDirectories(home.resolve(".ssh")), "id_ed25519", "ed25519", "stored", PASS);
      gnome.storeSshPassphrase(key, PASS, "stored");
      Path log = dir.resolve("asked.log");
      Map<String, String> env = Map.of("DBUS_SESSION_BUS_ADDRESS", gnome.env().get("DBUS_SESSION_BUS_ADDRESS"),
          "SSH_ASKPASS", dev.keymux.testing.Askpass.recording(dir.resolve("bin"), "wrong", log).toString(),
          "SSH_ASKPASS_REQUIRE", "force");
      try (KeymuxProcess keymux = keymuxWithKey(gnome, home, env)) {
        signsWith(keymux, key);
        assertFalse(Files.exists(log), "no prompt: the passphrase came from GNOME Keyring");
        assertTrue(keymux.log().contains("taken from the Secret Service"), keymux.log());
      }
    }
  }

  @Test
  void withoutASessionBusTheAskpassIsUsedAndATypedPassphraseCanBeRemembered() throws Exception {
    RealComponents.require("gnome-keyring", GnomeKeyring.available(), "apt-get install gnome-keyring dbus-daemon libsecret-tools");
    try (GnomeKeyring gnome = GnomeKeyring.start(dir.resolve("gnome"), "login password")) {
      Path home = Files.createDirectories(dir.resolve("home"));
      Path key = TestKeys.generate(Files.createDirectories(home.resolve(".ssh")), "id_ed25519", "ed25519", "typed", PASS);
      Path askpass = dev.keymux.testing.Askpass.answering(dir.resolve("bin"), PASS);
      // 1. No bus: askpass fallback, one log line.
      try (KeymuxProcess keymux = keymuxWithKey(gnome, home, dev.keymux.testing.Askpass.env(askpass))) {
        signsWith(keymux, key);
        assertTrue(keymux.log().contains("Secret Service not used: no session bus"), keymux.log());
      }
      // 2. With the bus and remember-passphrases = always: the typed passphrase is stored ...
      Path conf = dir.resolve("remember.conf");
      Map<String, String> withBus = Map.of("SSH_ASKPASS", askpass.toString(), "SSH_ASKPASS_REQUIRE", "force",
          "DBUS_SESSION_BUS_ADDRESS", gnome.env().get("DBUS_SESSION_BUS_ADDRESS"));
      Files.writeString(conf, "keymux.backends.files { remember-passphrases = always, paths = [\"" + key + "\"] }\n");
      try (KeymuxProcess keymux = keymuxWithKey(gnome, Files.createDirectories(dir.resolve("home3")), withBus,
          "--config", conf.toString())) {
        signsWith(keymux, key);
        assertTrue(keymux.log().contains("remembered the passphrase"), keymux.log());
      }
      String stored = Proc.run(T, gnome.env(), "/usr/bin/secret-tool", "lookup", "unique", "ssh-store:" + key).assertOk().stdout();
      assertEquals(PASS, stored.trim());
    }
  }

  @Test
  void aTokenPinStoredInGnomeKeyringLogsInWithoutAPrompt() throws Exception {
    RealComponents.require("gnome-keyring", GnomeKeyring.available(), "apt-get install gnome-keyring dbus-daemon libsecret-tools");
    RealComponents.require("softhsm", dev.keymux.testing.SoftHsm.available(), "apt-get install softhsm2 opensc");
    var hsm = dev.keymux.testing.SoftHsm.create(dir.resolve("hsm"));
    hsm.initToken("gnome-token", "246810");
    hsm.generate("gnome-token", "246810", "EC:prime256v1", "01", "tok");
    try (GnomeKeyring gnome = GnomeKeyring.start(dir.resolve("gnome"), "login password")) {
      Proc.run(T, gnome.env(), "246810".getBytes(), "/usr/bin/secret-tool", "store", "--label=PIN of gnome-token",
          "keymux-pkcs11-token", "gnome-token").assertOk();
      Path conf = dir.resolve("tok.conf");
      Files.writeString(conf, "keymux.backends.files = null\nkeymux.backends.hsm { type = pkcs11, module = \""
          + dev.keymux.testing.SoftHsm.MODULE + "\", token = gnome-token, pin = keyring }\n");
      Path log = dir.resolve("asked.log");
      Map<String, String> env = new HashMap<>(hsm.env());
      env.put("DBUS_SESSION_BUS_ADDRESS", gnome.env().get("DBUS_SESSION_BUS_ADDRESS"));
      env.putAll(dev.keymux.testing.Askpass.env(dev.keymux.testing.Askpass.recording(dir.resolve("bin"), "000000", log)));
      try (KeymuxProcess keymux = keymuxWithKey(gnome, Files.createDirectories(dir.resolve("home")), env, "--config", conf.toString())) {
        String line = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-L").assertOk().stdout().lines()
            .filter(l -> l.endsWith(" tok")).findFirst().orElseThrow();
        Path pub = dir.resolve("tok.pub");
        Files.writeString(pub, line + "\n");
        Path data = dir.resolve("d");
        Files.writeString(data, "z\n");
        Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file", data.toString()).assertOk();
        assertFalse(Files.exists(log), "the PIN came from GNOME Keyring, not a prompt");
      }
    }
  }
}
