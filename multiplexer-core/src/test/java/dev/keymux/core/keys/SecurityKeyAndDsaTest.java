package dev.keymux.core.keys;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Session;
import dev.keymux.core.contract.SshAddCapture;
import dev.keymux.core.keyring.InMemoryKeyring;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.agent.ProviderAllowlist;
import dev.keymux.core.wire.AgentRequest.AddIdentity;
import dev.keymux.core.wire.KeyConstraint;
import dev.keymux.core.wire.SshWriter;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Security keys (through ssh-sk-helper and OpenSSH's sk-dummy) and DSA keys, as ssh-add sends them. */
class SecurityKeyAndDsaTest {
  static final Path SK_DUMMY = Path.of("/usr/lib/openssh/regress/misc/sk-dummy/sk-dummy.so");
  @TempDir Path dir;

  private Path enrol(String type) {
    RealComponents.require("fido", Files.isRegularFile(SK_DUMMY) && Files.isExecutable(SkHelper.DEFAULT_PATH),
        "sk-dummy.so (openssh-tests) or ssh-sk-helper missing");
    Path k = dir.resolve("id_" + type.replace('-', '_'));
    Proc.run(Duration.ofSeconds(30), Map.of(), "/usr/bin/ssh-keygen", "-q", "-t", type, "-w", SK_DUMMY.toString(),
        "-N", "", "-f", k.toString()).assertOk();
    return k;
  }

  @ParameterizedTest
  @ValueSource(strings = {"ed25519-sk", "ecdsa-sk"})
  void aSecurityKeySignsThroughTheHelperAndTheSignatureVerifies(String type) throws Exception {
    AddIdentity add = SshAddCapture.captureOne(dir, enrol(type), "-S", SK_DUMMY.toString());
    assertTrue(add.constraints().contains(new KeyConstraint.SkProvider(SK_DUMMY.toString())), add.constraints().toString());
    try (SecurityKey key = SecurityKey.fromAgentWire(add.keyMaterial())) {
      assertTrue(key.needsTouch(), "ssh-keygen's default: touch required");
      assertEquals("ssh:", key.application());
      byte[] data = "data to sign".getBytes();
      byte[] sig = new SkHelper(SkHelper.DEFAULT_PATH, Duration.ofSeconds(30)).sign(key, SK_DUMMY.toString(), data, null);
      assertTrue(SshSignatures.verify(key.publicBlob(), sig, data));
      assertFalse(SshSignatures.verify(key.publicBlob(), sig, "other data".getBytes()));
    }
  }

  @Test
  void aProviderTheAllowlistDoesNotNameRefusesTheKey() throws Exception {
    AddIdentity add = SshAddCapture.captureOne(dir, enrol("ed25519-sk"), "-S", SK_DUMMY.toString());
    KeyringDefaults d = new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), Map.of());
    try (InMemoryKeyring keyring = new InMemoryKeyring("added", d, new ProviderAllowlist(List.of("/usr/lib/x86_64-linux-gnu/*")))) {
      AgentException e = assertThrows(AgentException.class, () -> keyring.add(Session.local(), add));
      assertTrue(e.getMessage().contains("not in the allowlist"), e.getMessage());
      assertTrue(keyring.list(Session.local()).isEmpty());
    }
  }

  @Test
  void malformedSecurityKeysAreRefused() {
    byte[] truncated = new SshWriter().writeString("sk-ssh-ed25519@openssh.com").writeString(new byte[32])
        .writeString("ssh:").toByteArray();
    assertThrows(KeyFormatException.class, () -> SecurityKey.fromAgentWire(truncated));
    byte[] noHandle = new SshWriter().writeString("sk-ssh-ed25519@openssh.com").writeString(new byte[32])
        .writeString("ssh:").writeByte(1).writeString(new byte[0]).writeString(new byte[0]).toByteArray();
    assertThrows(KeyFormatException.class, () -> SecurityKey.fromAgentWire(noHandle));
  }

  @Test
  void helperErrorsKeepOpenSshsCode() {
    byte[] wrongPin = new SshWriter().writeByte(SkHelper.VERSION).writeUint32(SkHelper.MSG_ERROR).writeUint32(43).toByteArray();
    SkHelper.SkException e = assertThrows(SkHelper.SkException.class, () -> SkHelper.parseReply(wrongPin));
    assertEquals(SkHelper.ERR_WRONG_PIN, e.code());
    byte[] badVersion = new SshWriter().writeByte(4).writeUint32(SkHelper.MSG_SIGN).toByteArray();
    assertThrows(SkHelper.SkException.class, () -> SkHelper.parseReply(badVersion));
  }

  @Test
  void aDsaKeySignsAndTheSignatureVerifies() throws Exception {
    Path k = dir.resolve("id_dsa");
    Proc.run(Duration.ofSeconds(30), Map.of(), "/usr/bin/ssh-keygen", "-q", "-t", "dsa", "-N", "", "-f", k.toString()).assertOk();
    AddIdentity add = SshAddCapture.captureOne(dir, k);
    try (SshPrivateKey key = SshPrivateKey.fromAgentWire(add.keyMaterial())) {
      assertEquals("ssh-dss", key.type());
      byte[] data = "dsa data".getBytes();
      byte[] sig = key.sign(data, 0);
      assertTrue(SshSignatures.verify(key.publicBlob(), sig, data));
      assertFalse(SshSignatures.verify(key.publicBlob(), sig, "other".getBytes()));
    }
    // A DSA private scalar that does not match its public key is refused.
    byte[] material = add.keyMaterial().clone();
    material[material.length - 1] ^= 1;
    assertThrows(KeyFormatException.class, () -> SshPrivateKey.fromAgentWire(material));
  }
}
