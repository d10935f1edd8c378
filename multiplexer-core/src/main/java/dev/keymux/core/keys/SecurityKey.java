package dev.keymux.core.keys;

import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import java.util.Arrays;

/**
 * A FIDO security-key key ({@code sk-ssh-ed25519@openssh.com}, {@code
 * sk-ecdsa-sha2-nistp256@openssh.com}, or a certificate of one) as OpenSSH serializes it: the
 * public part, the application string, the flags and the authenticator's key handle (PROTOCOL.u2f).
 * It holds no secret the agent can sign with: the authenticator signs, reached through OpenSSH's
 * {@code ssh-sk-helper} ({@link SkHelper}), which takes exactly this serialization.
 */
public final class SecurityKey implements AutoCloseable {
  /** SSH_SK_USER_PRESENCE_REQD: the authenticator waits for a touch. */
  public static final int USER_PRESENCE_REQUIRED = 0x01;
  /** SSH_SK_USER_VERIFICATION_REQD: the authenticator wants its PIN (or a fingerprint). */
  public static final int USER_VERIFICATION_REQUIRED = 0x04;

  private final String type;
  private final byte[] publicBlob;
  private final String application;
  private final int flags;
  private final byte[] serialized; // what ssh-sk-helper deserializes; wiped on close

  private SecurityKey(String type, byte[] publicBlob, String application, int flags, byte[] serialized) {
    this.type = type;
    this.publicBlob = publicBlob;
    this.application = application;
    this.flags = flags;
    this.serialized = serialized;
  }

  /** True for the security-key types and their certificates. */
  public static boolean isSecurityKeyType(String keyType) {
    return SshKeyTypes.isSecurityKey(keyType);
  }

  /**
   * Parses the key part of ADD_IDENTITY for a security key: string type, [string certificate],
   * the public fields (Ed25519: A; ECDSA: curve, Q) unless a certificate carries them, string
   * application, byte flags, string key handle, string reserved.
   */
  public static SecurityKey fromAgentWire(byte[] keyMaterial) throws KeyFormatException {
    try {
      SshReader r = new SshReader(keyMaterial);
      String type = r.readUtf8();
      String base = SshKeyTypes.baseType(type);
      if (!isSecurityKeyType(type)) {
        throw new KeyFormatException("not a security key type: " + type);
      }
      byte[] publicBlob = null;
      SshWriter pub = null; // a plain key's blob: type, its fields, then the application
      if (SshKeyTypes.isCertificate(type)) {
        publicBlob = r.readString();
        if (!Fingerprints.keyType(publicBlob).equals(type)) {
          throw new KeyFormatException("certificate of type " + Fingerprints.keyType(publicBlob) + " sent as " + type);
        }
      } else {
        pub = new SshWriter().writeString(base);
        if (base.equals(SshKeyTypes.SK_ED25519)) {
          byte[] a = r.readString();
          if (a.length != 32) {
            throw new KeyFormatException("Ed25519 security key of " + a.length + " bytes");
          }
          pub.writeString(a);
        } else {
          String curve = r.readUtf8();
          if (!curve.equals("nistp256")) {
            throw new KeyFormatException("security key on curve " + curve);
          }
          byte[] q = r.readString();
          SshPublicKeys.point(SshKeyTypes.curve(curve), q); // on the curve, or refused now
          pub.writeString(curve).writeString(q);
        }
      }
      String application = r.readUtf8();
      if (pub != null) {
        publicBlob = pub.writeString(application).toByteArray();
      }
      int flags = r.readByte();
      byte[] handle = r.readString();
      if (handle.length == 0) {
        throw new KeyFormatException("security key without a key handle");
      }
      r.readString(); // reserved
      r.expectEnd("security key");
      return new SecurityKey(type, publicBlob, application, flags, keyMaterial.clone());
    } catch (ProtocolException e) {
      throw new KeyFormatException("malformed security key: " + e.getMessage());
    }
  }

  public String type() {
    return type;
  }

  /** The blob the key is known by: the public key, or the certificate. */
  public byte[] publicBlob() {
    return publicBlob.clone();
  }

  public String application() {
    return application;
  }

  public int flags() {
    return flags;
  }

  /**
   * Whether {@code data} may be signed: a key made for a web origin (an application not starting
   * with "ssh:") signs only SSH user-auth requests and SSHSIG blobs, never something that could be
   * a web login challenge (OpenSSH's restrict-websafe).
   */
  public boolean maySign(byte[] data) {
    if (application.startsWith("ssh:")) {
      return true;
    }
    if (data.length >= 6 && new String(data, 0, 6, java.nio.charset.StandardCharsets.US_ASCII).equals("SSHSIG")) {
      return true;
    }
    try {
      SshReader r = new SshReader(data);
      return r.readString().length > 0 && r.readByte() == 50; // session id, SSH_MSG_USERAUTH_REQUEST
    } catch (ProtocolException e) {
      return false;
    }
  }

  public boolean needsTouch() {
    return (flags & USER_PRESENCE_REQUIRED) != 0;
  }

  public boolean needsPin() {
    return (flags & USER_VERIFICATION_REQUIRED) != 0;
  }

  /** The serialization ssh-sk-helper takes (sshkey_private_serialize). */
  byte[] serialized() {
    return serialized.clone();
  }

  @Override
  public void close() {
    Arrays.fill(serialized, (byte) 0);
  }
}
