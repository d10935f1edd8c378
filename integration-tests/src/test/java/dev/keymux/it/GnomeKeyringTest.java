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
}
