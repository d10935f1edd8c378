package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Askpass;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.Sshd;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The everyday story: keys in ~/.ssh, one of them passphrase-protected, served by keymux with
 * its embedded default configuration. The passphrase is asked once, on first use, however many
 * logins follow.
 */
class FileKeysTest {
  static final Duration T = Duration.ofSeconds(60);
  static final String PASS = "open sesame";
  @TempDir Path dir;

  @Test
  void keysInDotSshAreServedAndThePassphraseIsAskedOnce() throws Exception {
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed");
    Path ssh = Files.createDirectories(dir.resolve(".ssh"));
    Path locked = TestKeys.generate(ssh, "id_ed25519", "ed25519", "locked key", PASS);
    Path plain = TestKeys.generate(ssh, "id_ecdsa", "ecdsa-256", "plain key");
    Path askLog = dir.resolve("askpass.log");
    Path askpass = Askpass.recording(dir.resolve("bin"), PASS, askLog);

    Path authorized = dir.resolve("authorized_keys");
    Files.writeString(authorized, TestKeys.publicLine(locked) + "\n");
    try (Sshd sshd = Sshd.start(Files.createDirectories(dir.resolve("sshd")), authorized);
        KeymuxProcess keymux = KeymuxProcess.start(dir, Askpass.env(askpass))) {
      String listed = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").assertOk().stdout();
      assertTrue(listed.contains(TestKeys.fingerprint(locked)) && listed.contains(TestKeys.fingerprint(plain)), listed);
      assertFalse(Files.exists(askLog), "listing needs no passphrase");

      String before = Proc.run(T, keymux.env(), KeymuxProcess.command("list").toArray(String[]::new)).assertOk().stdout();
      assertTrue(before.contains("files (locked)"), before);
      assertTrue(before.contains("files (no passphrase)"), before);

      for (int i = 0; i < 3; i++) { // three "terminals", one passphrase
        List<String> cmd = new ArrayList<>(sshd.sshCommand("echo ok", "-o", "IdentityFile=" + dir.resolve("none")));
        Proc.run(T, keymux.env(), cmd.toArray(String[]::new)).assertOk();
      }
      List<String> asked = Files.readAllLines(askLog).stream().filter(l -> l.startsWith("prompt=")).toList();
      assertEquals(List.of("prompt=Enter passphrase for " + locked + ": "), asked);

      String after = Proc.run(T, keymux.env(), KeymuxProcess.command("list").toArray(String[]::new)).assertOk().stdout();
      assertTrue(after.contains("files (unlocked, locks in 7h59m)") || after.contains("files (unlocked, locks in 8h0m)"), after);

      // ssh-keygen -Y sign through keymux with the file key; OpenSSH verifies it.
      Path data = dir.resolve("data");
      Files.writeString(data, "release tag\n");
      Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", locked + ".pub", "-n", "git", data.toString()).assertOk();
      Path allowed = dir.resolve("allowed");
      Files.writeString(allowed, "me " + TestKeys.publicLine(locked) + "\n");
      Proc.run(T, Map.of(), "/bin/sh", "-c", "/usr/bin/ssh-keygen -Y verify -f " + allowed + " -I me -n git -s " + data
          + ".sig < " + data).assertOk();

      // A key dropped into ~/.ssh appears without a restart.
      Path added = TestKeys.generate(ssh, "id_rsa", "rsa-2048", "new key");
      long t0 = System.nanoTime();
      String now = "";
      while (System.nanoTime() - t0 < 5_000_000_000L) {
        now = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").stdout();
        if (now.contains(TestKeys.fingerprint(added))) {
          break;
        }
        Thread.sleep(100);
      }
      assertTrue(now.contains(TestKeys.fingerprint(added)), now);
      assertTrue((System.nanoTime() - t0) / 1_000_000 < 2000, "appeared within 2 s");

      // Deleted (the private key; its .pub left behind does not keep it), it disappears the same way.
      String addedPrint = TestKeys.fingerprint(added);
      Files.delete(added);
      t0 = System.nanoTime();
      while (System.nanoTime() - t0 < 5_000_000_000L) {
        now = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").stdout();
        if (!now.contains(addedPrint)) {
          break;
        }
        Thread.sleep(100);
      }
      assertFalse(now.contains(addedPrint), now);
      assertTrue((System.nanoTime() - t0) / 1_000_000 < 2000, "gone within 2 s");
      assertTrue(now.contains(TestKeys.fingerprint(locked)) && now.contains(TestKeys.fingerprint(plain)), now);
    }
  }
}
