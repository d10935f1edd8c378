package dev.keymux.core.keys;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.contract.SshAddCapture;
import dev.keymux.core.wire.AgentRequest.AddIdentity;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Private keys as OpenSSH's ssh-add sends them, checked against ssh-keygen's own view. */
class SshPrivateKeyTest {
  @TempDir static Path dir;

  static AddIdentity wire(String type) throws Exception {
    Path k = TestKeys.generate(dir, "k_" + type.replace('-', '_'), type, "t");
    return SshAddCapture.captureOne(dir, k);
  }

  static byte[] pubBlob(Path key) throws Exception {
    return Base64.getDecoder().decode(Files.readString(Path.of(key + ".pub")).trim().split(" ")[1]);
  }

  @BeforeAll
  static void check() {
    assertTrue(Files.isExecutable(Path.of("/usr/bin/ssh-keygen")), "OpenSSH tools are needed");
  }

  @ParameterizedTest
  @ValueSource(strings = {"ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048", "rsa-3072"})
  void theBlobAndFingerprintMatchSshKeygen(String type) throws Exception {
    Path k = TestKeys.generate(dir, "m_" + type.replace('-', '_'), type, "t");
    try (SshPrivateKey key = SshPrivateKey.fromAgentWire(SshAddCapture.captureOne(dir, k).keyMaterial())) {
      assertArrayEquals(pubBlob(k), key.publicBlob());
      assertEquals(TestKeys.fingerprint(k), Fingerprints.sha256(key.publicBlob()));
    }
  }

  /** Backends sign with one key from several threads at once: every signature must still verify. */
  @ParameterizedTest
  @ValueSource(strings = {"ed25519", "ecdsa-256", "rsa-2048"})
  void oneKeySignsFromManyThreadsAtOnce(String type) throws Exception {
    try (SshPrivateKey key = SshPrivateKey.fromAgentWire(wire(type).keyMaterial())) {
      int threads = 8;
      int each = type.startsWith("rsa") ? 10 : 100;
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
      java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
      List<java.util.concurrent.Future<Integer>> done = new java.util.ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        done.add(pool.submit(() -> {
          go.await();
          int verified = 0;
          for (int i = 0; i < each; i++) {
            byte[] data = ("thread " + id + " message " + i).getBytes();
            byte[] sig = key.sign(data, type.startsWith("rsa") ? dev.keymux.core.wire.AgentProtocol.SSH_AGENT_RSA_SHA2_512 : 0);
            if (SshSignatures.verify(key.publicBlob(), sig, data)) {
              verified++;
            }
          }
          return verified;
        }));
      }
      go.countDown();
      for (java.util.concurrent.Future<Integer> f : done) {
        assertEquals(each, f.get(60, java.util.concurrent.TimeUnit.SECONDS), "every signature verifies");
      }
      pool.shutdown();
    }
  }

  @Test
  void md5FingerprintMatchesSshKeygen() throws Exception {
    Path k = TestKeys.generate(dir, "md5", "ed25519", "t");
    String out = dev.keymux.testing.Proc.run(java.time.Duration.ofSeconds(10), java.util.Map.of(),
        "/usr/bin/ssh-keygen", "-l", "-E", "md5", "-f", k + ".pub").assertOk().stdout();
    assertEquals(out.split(" ")[1], Fingerprints.md5(pubBlob(k)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"ed25519", "ecdsa-256", "rsa-2048"})
  void everyTruncationIsAKeyFormatError(String type) throws Exception {
    byte[] full = wire(type).keyMaterial();
    for (int n = 0; n < full.length; n++) {
      byte[] cut = Arrays.copyOf(full, n);
      assertThrows(KeyFormatException.class, () -> SshPrivateKey.fromAgentWire(cut), "prefix of " + n + " bytes");
    }
    byte[] longer = Arrays.copyOf(full, full.length + 1);
    assertThrows(KeyFormatException.class, () -> SshPrivateKey.fromAgentWire(longer), "trailing byte");
  }

  @Test
  void aCertificateForAnotherKeyIsRefused() throws Exception {
    Path ca = TestKeys.generate(dir, "ca", "ed25519", "ca");
    Path a = TestKeys.generate(dir, "ca_a", "ed25519", "a");
    Path b = TestKeys.generate(dir, "ca_b", "ed25519", "b");
    Path certA = TestKeys.certify(ca, Path.of(a + ".pub"), "a", "tester", "+1h");
    List<AddIdentity> adds = SshAddCapture.capture(dir, a);
    AddIdentity cert = adds.stream().filter(x -> x.keyType().endsWith("-cert-v01@openssh.com")).findFirst().orElseThrow();
    try (SshPrivateKey k = SshPrivateKey.fromAgentWire(cert.keyMaterial())) {
      assertArrayEquals(pubBlob(Path.of(certA.toString().replace("-cert.pub", "-cert"))), k.publicBlob());
      assertArrayEquals(pubBlob(a), SshSignatures.publicBlobOf(k.publicBlob()));
    }
    // Splice b's private half behind a's certificate.
    byte[] bWire = SshAddCapture.captureOne(dir, b).keyMaterial();
    dev.keymux.core.wire.SshReader r = new dev.keymux.core.wire.SshReader(bWire);
    r.readString();
    byte[] bPk = r.readString();
    byte[] bSk = r.readString();
    dev.keymux.core.wire.SshReader c = new dev.keymux.core.wire.SshReader(cert.keyMaterial());
    String type = c.readUtf8();
    byte[] certBlob = c.readString();
    byte[] spliced = new dev.keymux.core.wire.SshWriter().writeString(type).writeString(certBlob).writeString(bPk)
        .writeString(bSk).toByteArray();
    KeyFormatException e = assertThrows(KeyFormatException.class, () -> SshPrivateKey.fromAgentWire(spliced));
    assertTrue(e.getMessage().contains("different key"), e.getMessage());
  }

  @Test
  void unsupportedTypesAreRefusedByName() {
    byte[] xmss = new dev.keymux.core.wire.SshWriter().writeString("ssh-xmss@openssh.com").writeString(new byte[4]).toByteArray();
    KeyFormatException e = assertThrows(KeyFormatException.class, () -> SshPrivateKey.fromAgentWire(xmss));
    assertTrue(e.getMessage().contains("ssh-xmss@openssh.com"), e.getMessage());
    // DSA is held now; a malformed one is refused with the reason.
    byte[] dsa = new dev.keymux.core.wire.SshWriter().writeString("ssh-dss").writeString(new byte[4]).toByteArray();
    assertThrows(KeyFormatException.class, () -> SshPrivateKey.fromAgentWire(dsa));
  }

  @Test
  void signaturesDoNotVerifyUnderAnotherKeyOrAlgorithm() throws Exception {
    try (SshPrivateKey rsa = SshPrivateKey.fromAgentWire(wire("rsa-2048").keyMaterial());
        SshPrivateKey ed = SshPrivateKey.fromAgentWire(wire("ed25519").keyMaterial())) {
      byte[] data = {1, 2, 3};
      byte[] sig = rsa.sign(data, dev.keymux.core.wire.AgentProtocol.SSH_AGENT_RSA_SHA2_256);
      assertTrue(SshSignatures.verify(rsa.publicBlob(), sig, data));
      assertFalse(SshSignatures.verify(ed.publicBlob(), sig, data));
      // Relabel an rsa-sha2-256 signature as rsa-sha2-512: must not verify.
      dev.keymux.core.wire.SshReader sr = new dev.keymux.core.wire.SshReader(sig);
      sr.readString();
      byte[] relabeled = new dev.keymux.core.wire.SshWriter().writeString("rsa-sha2-512").writeString(sr.readString())
          .toByteArray();
      assertFalse(SshSignatures.verify(rsa.publicBlob(), relabeled, data));
      assertFalse(SshSignatures.verify(rsa.publicBlob(), new byte[] {0, 0, 0, 9}, data), "garbage is just invalid");
    }
  }
}
