package dev.keymux.backend.file;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.keys.SshSignatures;
import dev.keymux.testing.Proc;
import dev.keymux.testing.TestKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keys handed over as text (KEYMUX_KEYS, stdin), with keys made by ssh-keygen. */
class PreloadedKeysTest {
  @TempDir Path dir;

  @Test
  void readsConcatenatedOpenSshAndPemKeysWithTheirRepositories() throws Exception {
    Path a = TestKeys.generate(dir, "a", "ed25519", "a");
    Path b = TestKeys.generate(dir, "b", "ecdsa-256", "b");
    Path c = TestKeys.generate(dir, "c", "rsa-2048", "c");
    // c in PEM (PKCS#1), as some CI secrets hold it
    Proc.run(Duration.ofSeconds(60), Map.of(), "/usr/bin/ssh-keygen", "-p", "-q", "-m", "PEM", "-N", "", "-P", "", "-f", c.toString())
        .assertOk();
    String text = "# repo: git@github.com:org/a\n" + Files.readString(a) + "\n# an ordinary comment\n" + Files.readString(b)
        + "  # repo: ssh://git@example.com:2222/srv/c.git  \r\n" + Files.readString(c).replace("\n", "\r\n");
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    List<PreloadedKeys.Key> keys = PreloadedKeys.parse(bytes, "KEYMUX_KEYS");
    try (PreloadedKeysBackend backend = new PreloadedKeysBackend("preloaded", keys)) {
      assertEquals(List.of("git@github.com:org/a", "", "ssh://git@example.com:2222/srv/c.git"),
          keys.stream().map(PreloadedKeys.Key::repo).toList());
      List<Identity> ids = backend.list(Session.local());
      assertEquals(List.of(TestKeys.fingerprint(a), TestKeys.fingerprint(b), TestKeys.fingerprint(c)),
          ids.stream().map(i -> Fingerprints.sha256(i.key().bytes())).toList());
      assertEquals(List.of("git@github.com:org/a", "KEYMUX_KEYS key 2", "ssh://git@example.com:2222/srv/c.git"),
          ids.stream().map(Identity::comment).toList());
      byte[] data = "to sign".getBytes(StandardCharsets.UTF_8);
      for (Identity id : ids) {
        byte[] signature = backend.sign(Session.local(), id.key(), data, 0);
        assertTrue(SshSignatures.verify(id.key().bytes(), signature, data), id.comment());
      }
    }
  }

  @Test
  void refusesWhatItCannotUseWithoutShowingTheKey() throws Exception {
    Path locked = TestKeys.generate(dir, "locked", "ed25519", "locked", "pass phrase");
    String body = Files.readString(locked);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PreloadedKeys.parse(body.getBytes(StandardCharsets.US_ASCII), "stdin"));
    assertTrue(e.getMessage().startsWith("stdin: key 1 (openssh-key-v1 (aes256-ctr)) is protected by a passphrase"), e.getMessage());

    String plain = Files.readString(TestKeys.generate(dir, "plain", "ed25519", "plain"));
    String cut = plain.substring(0, plain.indexOf("-----END"));
    e = assertThrows(IllegalArgumentException.class, () -> PreloadedKeys.parse(cut.getBytes(StandardCharsets.US_ASCII), "stdin"));
    assertEquals("stdin: key 1 has no '-----END OPENSSH PRIVATE KEY-----' line", e.getMessage());

    String stray = plain.substring(plain.indexOf('\n') + 1) + plain;
    e = assertThrows(IllegalArgumentException.class, () -> PreloadedKeys.parse(stray.getBytes(StandardCharsets.US_ASCII), "stdin"));
    assertFalse(e.getMessage().contains(plain.split("\n")[1]), e.getMessage());

    e = assertThrows(IllegalArgumentException.class, () -> PreloadedKeys.parse("\n# repo: x:y\n".getBytes(StandardCharsets.US_ASCII), "stdin"));
    assertEquals("stdin: no private key (-----BEGIN ... PRIVATE KEY-----) found", e.getMessage());
  }
}
