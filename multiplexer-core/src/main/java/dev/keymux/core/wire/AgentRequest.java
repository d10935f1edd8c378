package dev.keymux.core.wire;

import dev.keymux.core.agent.KeyBlob;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/** Messages from client to agent (RFC 9987 §3), one record per message type. */
public sealed interface AgentRequest {

  /** SSH_AGENTC_REQUEST_IDENTITIES (11), §3.5. */
  record RequestIdentities() implements AgentRequest {}

  /** SSH_AGENTC_SIGN_REQUEST (13), §3.6. The data is never logged. */
  record SignRequest(KeyBlob key, byte[] data, int flags) implements AgentRequest {
    @Override
    public boolean equals(Object o) {
      return o instanceof SignRequest s && key.equals(s.key) && Arrays.equals(data, s.data) && flags == s.flags;
    }

    @Override
    public int hashCode() {
      return Objects.hash(key, Arrays.hashCode(data), flags);
    }

    @Override
    public String toString() {
      return "SignRequest[" + key + ", " + data.length + " bytes, flags=" + flags + "]";
    }
  }

  /**
   * SSH_AGENTC_ADD_IDENTITY (17) or SSH_AGENTC_ADD_ID_CONSTRAINED (25), §3.2. {@code keyMaterial}
   * is the key exactly as sent: {@code string type} followed by its private fields. It is secret:
   * call {@link #wipe()} once it has been consumed.
   */
  record AddIdentity(String keyType, byte[] keyMaterial, String comment, List<KeyConstraint> constraints)
      implements AgentRequest {
    public AddIdentity {
      constraints = List.copyOf(constraints);
    }

    public void wipe() {
      Arrays.fill(keyMaterial, (byte) 0);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof AddIdentity a && keyType.equals(a.keyType) && Arrays.equals(keyMaterial, a.keyMaterial)
          && comment.equals(a.comment) && constraints.equals(a.constraints);
    }

    @Override
    public int hashCode() {
      return Objects.hash(keyType, comment, constraints);
    }

    @Override
    public String toString() {
      return "AddIdentity[" + keyType + ", comment=" + comment + ", constraints=" + constraints + "]";
    }
  }

  /** SSH_AGENTC_REMOVE_IDENTITY (18), §3.4. */
  record RemoveIdentity(KeyBlob key) implements AgentRequest {}

  /** SSH_AGENTC_REMOVE_ALL_IDENTITIES (19), §3.4. */
  record RemoveAllIdentities() implements AgentRequest {}

  /**
   * SSH_AGENTC_ADD_SMARTCARD_KEY (20) or ..._CONSTRAINED (26), §3.2.6: load the keys of a
   * PKCS#11 provider. The PIN is secret: call {@link #wipe()} once consumed.
   */
  record AddSmartcardKey(String provider, byte[] pin, List<KeyConstraint> constraints) implements AgentRequest {
    public AddSmartcardKey {
      constraints = List.copyOf(constraints);
    }

    public void wipe() {
      Arrays.fill(pin, (byte) 0);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof AddSmartcardKey a && provider.equals(a.provider) && Arrays.equals(pin, a.pin)
          && constraints.equals(a.constraints);
    }

    @Override
    public int hashCode() {
      return Objects.hash(provider, constraints);
    }

    @Override
    public String toString() {
      return "AddSmartcardKey[" + provider + ", constraints=" + constraints + "]";
    }
  }

  /** SSH_AGENTC_REMOVE_SMARTCARD_KEY (21), §3.4. */
  record RemoveSmartcardKey(String provider, byte[] pin) implements AgentRequest {
    @Override
    public boolean equals(Object o) {
      return o instanceof RemoveSmartcardKey r && provider.equals(r.provider) && Arrays.equals(pin, r.pin);
    }

    @Override
    public int hashCode() {
      return provider.hashCode();
    }

    @Override
    public String toString() {
      return "RemoveSmartcardKey[" + provider + "]";
    }
  }

  /** SSH_AGENTC_LOCK (22), §3.7. */
  record Lock(byte[] passphrase) implements AgentRequest {
    @Override
    public boolean equals(Object o) {
      return o instanceof Lock l && Arrays.equals(passphrase, l.passphrase);
    }

    @Override
    public int hashCode() {
      return 22;
    }

    @Override
    public String toString() {
      return "Lock[]";
    }
  }

  /** SSH_AGENTC_UNLOCK (23), §3.7. */
  record Unlock(byte[] passphrase) implements AgentRequest {
    @Override
    public boolean equals(Object o) {
      return o instanceof Unlock u && Arrays.equals(passphrase, u.passphrase);
    }

    @Override
    public int hashCode() {
      return 23;
    }

    @Override
    public String toString() {
      return "Unlock[]";
    }
  }

  /** SSH_AGENTC_EXTENSION (27), §3.8: a named extension with its raw contents. */
  record Extension(String name, byte[] contents) implements AgentRequest {
    @Override
    public boolean equals(Object o) {
      return o instanceof Extension e && name.equals(e.name) && Arrays.equals(contents, e.contents);
    }

    @Override
    public int hashCode() {
      return name.hashCode();
    }

    @Override
    public String toString() {
      return "Extension[" + name + ", " + contents.length + " bytes]";
    }
  }
}
