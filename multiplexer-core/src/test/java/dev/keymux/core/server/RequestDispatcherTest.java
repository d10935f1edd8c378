package dev.keymux.core.server;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.Session;
import dev.keymux.core.contract.SshAddCapture;
import dev.keymux.core.keyring.InMemoryKeyring;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.keys.SshPrivateKey;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.AgentRequest.*;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import dev.keymux.testing.TestKeys;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RequestDispatcherTest {
  @TempDir static Path dir;
  static AddIdentity userKey;
  static byte[] userBlob;
  static SshPrivateKey hostKey;
  static SshPrivateKey otherHostKey;

  InMemoryKeyring keyring;
  RequestDispatcher dispatcher;
  AgentLock lock;
  Session session;

  @BeforeAll
  static void keys() throws Exception {
    Path user = TestKeys.generate(dir, "user", "ed25519", "user key");
    userKey = SshAddCapture.captureOne(dir, user);
    try (SshPrivateKey k = SshPrivateKey.fromAgentWire(userKey.keyMaterial())) {
      userBlob = k.publicBlob();
    }
    hostKey = SshPrivateKey.fromAgentWire(
        SshAddCapture.captureOne(dir, TestKeys.generate(dir, "host", "ecdsa-256", "host")).keyMaterial());
    otherHostKey = SshPrivateKey.fromAgentWire(
        SshAddCapture.captureOne(dir, TestKeys.generate(dir, "host2", "rsa-2048", "host2")).keyMaterial());
  }

  @BeforeEach
  void setUp() {
    keyring = new InMemoryKeyring("added", new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), Map.of()));
    lock = new AgentLock(Duration.ofMillis(300));
    dispatcher = new RequestDispatcher(keyring, lock, () -> {});
    session = Session.local();
  }

  private AgentResponse handle(dev.keymux.core.wire.AgentRequest r) {
    return dispatcher.handle(session, r);
  }

  private AddIdentity freshAdd() {
    return new AddIdentity(userKey.keyType(), userKey.keyMaterial().clone(), userKey.comment(), List.of());
  }

  @Test
  void queryListsTheSupportedExtensions() throws Exception {
    AgentResponse r = handle(new Extension(AgentProtocol.EXT_QUERY, new byte[0]));
    AgentResponse.ExtensionResponse e = assertInstanceOf(AgentResponse.ExtensionResponse.class, r);
    assertEquals("query", e.name());
    SshReader reader = new SshReader(e.contents());
    List<String> names = new ArrayList<>();
    while (reader.hasRemaining()) {
      names.add(reader.readUtf8());
    }
    assertTrue(names.containsAll(List.of("query", "session-bind@openssh.com")), names.toString());
  }

  @Test
  void unknownExtensionsGetAPlainFailure() {
    assertEquals(AgentResponse.FAILURE, handle(new Extension("nope@example.com", new byte[0])));
  }

  @Test
  void lockedAgentListsNothingAndSignsNothingUntilUnlocked() {
    assertEquals(AgentResponse.SUCCESS, handle(freshAdd()));
    assertEquals(AgentResponse.SUCCESS, handle(new Lock("pw".getBytes())));
    assertEquals(new AgentResponse.IdentitiesAnswer(List.of()), handle(new RequestIdentities()));
    assertEquals(AgentResponse.FAILURE, handle(new SignRequest(new dev.keymux.core.agent.KeyBlob(userBlob), new byte[] {1}, 0)));
    assertEquals(AgentResponse.FAILURE, handle(freshAdd()));
    assertEquals(AgentResponse.FAILURE, handle(new RemoveAllIdentities()));
    assertEquals(AgentResponse.FAILURE, handle(new Lock("pw".getBytes())), "locking twice fails");

    long t0 = System.nanoTime();
    assertEquals(AgentResponse.FAILURE, handle(new Unlock("wrong".getBytes())));
    assertEquals(AgentResponse.FAILURE, handle(new Unlock("wrong".getBytes())));
    long waitedMillis = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(waitedMillis >= 300, "failed unlocks are delayed (waited " + waitedMillis + " ms)");
    assertEquals(2, lock.failures());

    assertEquals(AgentResponse.SUCCESS, handle(new Unlock("pw".getBytes())));
    AgentResponse.IdentitiesAnswer ids = (AgentResponse.IdentitiesAnswer) handle(new RequestIdentities());
    assertEquals(1, ids.identities().size(), "keys survive lock/unlock");
    assertEquals(AgentResponse.FAILURE, handle(new Unlock("pw".getBytes())), "unlocking an unlocked agent fails");
  }

  @Test
  void secretsAreWipedAfterHandling() {
    AddIdentity add = freshAdd();
    byte[] pass = "pw".getBytes();
    handle(add);
    handle(new Lock(pass));
    assertTrue(allZero(add.keyMaterial()), "key material wiped");
    assertTrue(allZero(pass), "passphrase wiped");
  }

  private static boolean allZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  // ---- session-bind@openssh.com, with OpenSSH's rules

  private static byte[] bind(SshPrivateKey host, byte[] sessionId, boolean forwarding, boolean corrupt) {
    byte[] sig = host.sign(sessionId, AgentProtocol.SSH_AGENT_RSA_SHA2_512);
    if (corrupt) {
      sig[sig.length - 1] ^= 1;
    }
    return new SshWriter().writeString(host.publicBlob()).writeString(sessionId).writeString(sig)
        .writeBoolean(forwarding).toByteArray();
  }

  private AgentResponse sendBind(byte[] contents) {
    return handle(new Extension(AgentProtocol.EXT_SESSION_BIND, contents));
  }

  @Test
  void aValidBindingIsRecorded() {
    assertEquals(AgentResponse.SUCCESS, sendBind(bind(hostKey, new byte[] {1, 2, 3}, false, false)));
    assertEquals(1, session.bindings().size());
    assertFalse(session.bindings().get(0).forwarding());
  }

  @Test
  void aBadSignatureIsRefused() {
    assertEquals(AgentResponse.FAILURE, sendBind(bind(hostKey, new byte[] {1, 2, 3}, false, true)));
    assertEquals(0, session.bindings().size());
  }

  @Test
  void malformedBindingsAreRefused() {
    assertEquals(AgentResponse.FAILURE, sendBind(new byte[] {0, 0, 0, 1}));
    byte[] ok = bind(hostKey, new byte[] {1}, true, false);
    byte[] trailing = java.util.Arrays.copyOf(ok, ok.length + 1);
    assertEquals(AgentResponse.FAILURE, sendBind(trailing));
  }

  @Test
  void noBindingAfterAnAuthenticationBinding() {
    assertEquals(AgentResponse.SUCCESS, sendBind(bind(hostKey, new byte[] {1}, false, false)));
    assertEquals(AgentResponse.FAILURE, sendBind(bind(otherHostKey, new byte[] {2}, true, false)));
  }

  @Test
  void theSameForwardingBindingTwiceIsANoOpButAnotherKeyForTheSameIdIsRefused() {
    assertEquals(AgentResponse.SUCCESS, sendBind(bind(hostKey, new byte[] {7}, true, false)));
    assertEquals(AgentResponse.SUCCESS, sendBind(bind(hostKey, new byte[] {7}, true, false)));
    assertEquals(1, session.bindings().size());
    assertEquals(AgentResponse.FAILURE, sendBind(bind(otherHostKey, new byte[] {7}, true, false)));
  }

  @Test
  void atMostSixteenBindingsPerConnection() {
    for (int i = 0; i < AgentProtocol.MAX_SESSION_BINDINGS; i++) {
      assertEquals(AgentResponse.SUCCESS, sendBind(bind(hostKey, new byte[] {(byte) i}, true, false)), "binding " + i);
    }
    assertEquals(AgentResponse.FAILURE, sendBind(bind(hostKey, new byte[] {99}, true, false)));
    assertEquals(AgentProtocol.MAX_SESSION_BINDINGS, session.bindings().size());
  }
}
