package dev.keymux.core.keys;

import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import java.math.BigInteger;
import java.util.Arrays;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA1Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.DSAPublicKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.params.RSAKeyParameters;
import org.bouncycastle.crypto.signers.DSASigner;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.bouncycastle.crypto.signers.RSADigestSigner;

/** Verification of SSH signature blobs (RFC 4253 §6.6, RFC 5656 §3.1.2, RFC 8332, RFC 8709 §6). */
public final class SshSignatures {
  private SshSignatures() {}

  /**
   * True when {@code signature} (string algorithm, string signature) is a valid signature of
   * {@code data} by the plain public key {@code publicKeyBlob}. Never throws: anything malformed,
   * unsupported or mismatched is simply not a valid signature.
   */
  public static boolean verify(byte[] publicKeyBlob, byte[] signature, byte[] data) {
    try {
      if (SshKeyTypes.isSecurityKey(Fingerprints.keyType(publicKeyBlob))) {
        return verifySecurityKey(publicKeyBlob, signature, data);
      }
      AsymmetricKeyParameter key = SshPublicKeys.decode(publicKeyBlob);
      SshReader r = new SshReader(signature);
      String algorithm = r.readUtf8();
      byte[] sig = r.readString();
      r.expectEnd("signature");
      if (key instanceof Ed25519PublicKeyParameters ed) {
        if (!algorithm.equals(SshKeyTypes.ED25519) || sig.length != 64) {
          return false;
        }
        Ed25519Signer v = new Ed25519Signer();
        v.init(false, ed);
        v.update(data, 0, data.length);
        return v.verifySignature(sig);
      } else if (key instanceof ECPublicKeyParameters ec) {
        SshKeyTypes.Curve c = SshKeyTypes.curveOf(ec.getParameters());
        if (!algorithm.equals(c.keyType())) {
          return false;
        }
        SshReader rs = new SshReader(sig);
        BigInteger sr = rs.readMpint();
        BigInteger ss = rs.readMpint();
        rs.expectEnd("ECDSA signature");
        ECDSASigner v = new ECDSASigner();
        v.init(false, ec);
        return v.verifySignature(hash(c.digest(), data), sr, ss);
      } else if (key instanceof RSAKeyParameters rsa) {
        Digest digest = switch (algorithm) {
          case "ssh-rsa" -> new SHA1Digest();
          case "rsa-sha2-256" -> new SHA256Digest();
          case "rsa-sha2-512" -> new SHA512Digest();
          default -> null;
        };
        if (digest == null) {
          return false;
        }
        RSADigestSigner v = new RSADigestSigner(digest);
        v.init(false, rsa);
        v.update(data, 0, data.length);
        return v.verifySignature(sig);
      } else if (key instanceof DSAPublicKeyParameters dsa) {
        if (!algorithm.equals(SshKeyTypes.DSA) || sig.length != 40) {
          return false;
        }
        DSASigner v = new DSASigner();
        v.init(false, dsa);
        return v.verifySignature(hash(new SHA1Digest(), data), new BigInteger(1, Arrays.copyOf(sig, 20)),
            new BigInteger(1, Arrays.copyOfRange(sig, 20, 40)));
      }
      return false;
    } catch (KeyFormatException | ProtocolException | RuntimeException e) {
      return false;
    }
  }

  /**
   * A FIDO signature (PROTOCOL.u2f): the authenticator signed SHA-256(application) || flags ||
   * counter || SHA-256(data) — Ed25519 over those bytes, ECDSA P-256 over their SHA-256.
   */
  private static boolean verifySecurityKey(byte[] blob, byte[] signature, byte[] data)
      throws ProtocolException, KeyFormatException {
    SshReader k = new SshReader(blob);
    String type = k.readUtf8();
    SshReader r = new SshReader(signature);
    if (!r.readUtf8().equals(type)) {
      return false;
    }
    byte[] sig = r.readString();
    int flags = r.readByte();
    long counter = r.readUint32();
    r.expectEnd("security key signature");
    byte[] signed;
    if (type.equals(SshKeyTypes.SK_ED25519)) {
      byte[] a = k.readString();
      byte[] application = k.readString();
      k.expectEnd("public key");
      signed = skSignedBytes(application, flags, counter, data);
      if (a.length != Ed25519PublicKeyParameters.KEY_SIZE || sig.length != 64) {
        return false;
      }
      Ed25519Signer v = new Ed25519Signer();
      v.init(false, new Ed25519PublicKeyParameters(a, 0));
      v.update(signed, 0, signed.length);
      return v.verifySignature(sig);
    }
    SshKeyTypes.Curve c = SshKeyTypes.curve(k.readUtf8());
    ECPublicKeyParameters q = new ECPublicKeyParameters(SshPublicKeys.point(c, k.readString()), c.domain());
    byte[] application = k.readString();
    k.expectEnd("public key");
    signed = skSignedBytes(application, flags, counter, data);
    SshReader rs = new SshReader(sig);
    BigInteger sr = rs.readMpint();
    BigInteger ss = rs.readMpint();
    rs.expectEnd("ECDSA signature");
    ECDSASigner v = new ECDSASigner();
    v.init(false, q);
    return v.verifySignature(hash(new SHA256Digest(), signed), sr, ss);
  }

  private static byte[] skSignedBytes(byte[] application, int flags, long counter, byte[] data) {
    byte[] out = new byte[32 + 1 + 4 + 32];
    System.arraycopy(hash(new SHA256Digest(), application), 0, out, 0, 32);
    out[32] = (byte) flags;
    out[33] = (byte) (counter >>> 24);
    out[34] = (byte) (counter >>> 16);
    out[35] = (byte) (counter >>> 8);
    out[36] = (byte) counter;
    System.arraycopy(hash(new SHA256Digest(), data), 0, out, 37, 32);
    return out;
  }

  /** Writes {@code v} as an unsigned big-endian integer of exactly {@code len} bytes at {@code off}. */
  static void putUnsigned(BigInteger v, byte[] out, int off, int len) {
    byte[] b = v.toByteArray();
    int skip = b.length > len ? b.length - len : 0; // a leading sign byte
    int n = b.length - skip;
    System.arraycopy(b, skip, out, off + len - n, n);
  }

  /**
   * For an OpenSSH certificate blob, the plain public key it certifies; a plain key blob is
   * returned unchanged.
   */
  public static byte[] publicBlobOf(byte[] certOrKeyBlob) throws KeyFormatException {
    if (SshKeyTypes.isCertificate(Fingerprints.keyType(certOrKeyBlob))) {
      return SshPublicKeys.plainBlobOfCertificate(certOrKeyBlob);
    }
    return certOrKeyBlob.clone();
  }

  static byte[] hash(Digest d, byte[] data) {
    d.update(data, 0, data.length);
    byte[] out = new byte[d.getDigestSize()];
    d.doFinal(out, 0);
    return out;
  }

  /**
   * The RSA signature algorithm a sign request's flags ask for. SHA2_256 is tested first, as
   * OpenSSH's agent_decode_alg does: both flags mean rsa-sha2-256; none means ssh-rsa (SHA-1).
   */
  public static String rsaAlgorithm(int flags) {
    if ((flags & dev.keymux.core.wire.AgentProtocol.SSH_AGENT_RSA_SHA2_256) != 0) {
      return "rsa-sha2-256";
    }
    if ((flags & dev.keymux.core.wire.AgentProtocol.SSH_AGENT_RSA_SHA2_512) != 0) {
      return "rsa-sha2-512";
    }
    return "ssh-rsa";
  }
}
