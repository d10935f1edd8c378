package dev.keymux.core.keys;

import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import java.math.BigInteger;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA1Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.params.RSAKeyParameters;
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
      }
      return false;
    } catch (KeyFormatException | ProtocolException | RuntimeException e) {
      return false;
    }
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
