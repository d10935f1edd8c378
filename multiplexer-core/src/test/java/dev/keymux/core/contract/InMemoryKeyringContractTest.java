package dev.keymux.core.contract;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.Agent;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.keyring.InMemoryKeyring;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.keys.SshSignatures;
import dev.keymux.core.wire.KeyConstraint;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InMemoryKeyringContractTest extends AgentContract {
  @Override
  protected Agent agent() {
    return keyring();
  }

  private static InMemoryKeyring keyring() {
    return new InMemoryKeyring("added", new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(5), Map.of()));
  }

  @Test
  void aKeyAddedWithoutConfirmationSignsAtOnceAndOneWithItDoesNot() throws Exception {
    InMemoryKeyring keyring = keyring();
    byte[] data = "signed on the request's thread".getBytes();
    keyring.add(session, add("ed25519"));
    keyring.add(session, withConstraints(add("ecdsa-256"), List.of(new KeyConstraint.Confirm())));
    assertEquals(2, keyring.listAtOnce(session).orElseThrow().size());
    KeyBlob plain = publicBlob("ed25519");
    byte[] sig = keyring.signAtOnce(session, plain, data, 0).orElseThrow();
    assertTrue(SshSignatures.verify(plain.bytes(), sig, data), "signature verifies");
    assertTrue(keyring.signAtOnce(session, publicBlob("ecdsa-256"), data, 0).isEmpty(),
        "a confirmation prompt may take a minute: only sign, under the sign timeout, asks it");
    assertTrue(keyring.signAtOnce(session, publicBlob("rsa-2048"), data, 0).isEmpty(), "not held");
  }
}
