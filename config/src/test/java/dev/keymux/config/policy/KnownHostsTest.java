package dev.keymux.config.policy;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.KeyBlob;
import dev.keymux.testing.Proc;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** known_hosts as OpenSSH writes it, hashed entries made by ssh-keygen -H itself. */
class KnownHostsTest {
  @TempDir Path dir;
  Path alpha;
  Path beta;
  Path gamma;

  static KeyBlob blob(Path key) {
    return new KeyBlob(Base64.getDecoder().decode(TestKeys.publicLine(key).split(" ")[1]));
  }

  static String keyPart(Path key) {
    String[] f = TestKeys.publicLine(key).split(" ");
    return f[0] + " " + f[1];
  }

  @BeforeEach
  void keys() {
    alpha = TestKeys.generate(dir, "alpha", "ed25519", "alpha host");
    beta = TestKeys.generate(dir, "beta", "ecdsa", "beta host");
    gamma = TestKeys.generate(dir, "gamma", "ed25519", "gamma host");
  }

  private KnownHosts write(String text) throws Exception {
    Path f = dir.resolve("known_hosts");
    Files.writeString(f, text);
    return new KnownHosts(List.of(f, dir.resolve("missing")));
  }

  @Test
  void plainNamesAliasesPortsAndPatterns() throws Exception {
    KnownHosts kh = write("""
        # a comment
        alpha.test,10.0.0.1 %s
        [beta.test]:2222 %s
        *.corp.test,!bad.corp.test %s
        """.formatted(keyPart(alpha), keyPart(beta), keyPart(gamma)));
    assertTrue(kh.matches(blob(alpha), "alpha.test"));
    assertTrue(kh.matches(blob(alpha), "ALPHA.test"), "host names are case-insensitive");
    assertTrue(kh.matches(blob(alpha), "10.0.0.1"));
    assertTrue(kh.matches(blob(alpha), "*.test"), "a rule pattern matches a plain name");
    assertFalse(kh.matches(blob(alpha), "beta.test"), "names belong to their own key only");
    assertTrue(kh.matches(blob(beta), "beta.test"), "[host]:port matches the bare host");
    assertTrue(kh.matches(blob(beta), "[beta.test]:2222"));
    assertTrue(kh.matches(blob(gamma), "build.corp.test"), "a pattern entry matches a host under it");
    assertFalse(kh.matches(blob(gamma), "bad.corp.test"), "a negated name is excluded from the entry");
    assertEquals(List.of("alpha.test", "10.0.0.1"), kh.namesOf(blob(alpha)));
    assertEquals(List.of(blob(alpha)), kh.keysNamed("alpha.test"));
  }

  @Test
  void hashedEntriesMatchExactNamesOnly() throws Exception {
    Path f = dir.resolve("known_hosts");
    Files.writeString(f, "secret.test " + keyPart(alpha) + "\n[beta.test]:2222 " + keyPart(beta) + "\n");
    Proc.run(Duration.ofSeconds(30), Map.of(), "/usr/bin/ssh-keygen", "-q", "-H", "-f", f.toString()).assertOk();
    assertTrue(Files.readString(f).startsWith("|1|"), "ssh-keygen hashed the file");
    assertFalse(Files.readString(f).contains("secret.test"));
    KnownHosts kh = new KnownHosts(List.of(f));
    assertTrue(kh.matches(blob(alpha), "secret.test"));
    assertFalse(kh.matches(blob(alpha), "other.test"));
    assertFalse(kh.matches(blob(alpha), "secret.*"), "a hashed name cannot be matched by a pattern");
    assertTrue(kh.matches(blob(beta), "[beta.test]:2222"), "hashed non-standard ports match in known_hosts form");
    assertEquals(List.of("(hashed)"), kh.namesOf(blob(alpha)));
  }

  @Test
  void markedAndBrokenLinesNameNoHost() throws Exception {
    KnownHosts kh = write("""
        @cert-authority *.test %s
        @revoked revoked.test %s
        this line is not a known_hosts line
        broken.test ssh-ed25519 %%%%not-base64%%%%
        ok.test %s
        """.formatted(keyPart(alpha), keyPart(beta), keyPart(gamma)));
    assertFalse(kh.matches(blob(alpha), "x.test"), "a CA key is not a host key");
    assertFalse(kh.matches(blob(beta), "revoked.test"));
    assertTrue(kh.matches(blob(gamma), "ok.test"), "bad lines do not spoil the good ones");
  }

  @Test
  void aChangedFileIsReadAgain() throws Exception {
    KnownHosts kh = write("one.test " + keyPart(alpha) + "\n");
    assertTrue(kh.matches(blob(alpha), "one.test"));
    Path f = dir.resolve("known_hosts");
    Files.writeString(f, "two.test " + keyPart(alpha) + "\n");
    Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
    long deadline = System.currentTimeMillis() + 3000;
    while (!kh.matches(blob(alpha), "two.test") && System.currentTimeMillis() < deadline) {
      Thread.sleep(100);
    }
    assertTrue(kh.matches(blob(alpha), "two.test"));
    assertFalse(kh.matches(blob(alpha), "one.test"));
  }
}
