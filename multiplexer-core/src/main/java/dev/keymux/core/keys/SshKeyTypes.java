package dev.keymux.core.keys;

import java.math.BigInteger;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.digests.SHA384Digest;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECNamedDomainParameters;

/** Key type names and the ECDSA curves behind them (RFC 5656 §6.2, §10.1). */
final class SshKeyTypes {
  private SshKeyTypes() {}

  static final String ED25519 = "ssh-ed25519";
  static final String RSA = "ssh-rsa";
  /** DSA: OpenSSH 10 dropped it; keymux still holds such keys added with ssh-add. */
  static final String DSA = "ssh-dss";
  static final String SK_ED25519 = "sk-ssh-ed25519@openssh.com";
  static final String SK_ECDSA = "sk-ecdsa-sha2-nistp256@openssh.com";
  static final String ECDSA_PREFIX = "ecdsa-sha2-";
  static final String CERT_SUFFIX = "-cert-v01@openssh.com";
  /** OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE. */
  static final int RSA_MIN_BITS = 1024;

  /** A FIDO security-key type (plain or certificate). */
  static boolean isSecurityKey(String type) {
    String base = baseType(type);
    return base.equals(SK_ED25519) || base.equals(SK_ECDSA);
  }

  static boolean isCertificate(String type) {
    return type.endsWith(CERT_SUFFIX);
  }

  static String baseType(String type) {
    return isCertificate(type) ? type.substring(0, type.length() - CERT_SUFFIX.length()) : type;
  }

  /** One of the three NIST curves SSH uses, by its SSH identifier ("nistp256"...). */
  record Curve(String sshId, String keyType, ECNamedDomainParameters domain, int bits) {
    Digest digest() {
      return switch (bits) {
        case 256 -> new SHA256Digest();
        case 384 -> new SHA384Digest();
        default -> new SHA512Digest();
      };
    }

    int fieldBytes() {
      return (bits + 7) / 8;
    }
  }

  static Curve curve(String sshId) throws KeyFormatException {
    String name = switch (sshId) {
      case "nistp256" -> "P-256";
      case "nistp384" -> "P-384";
      case "nistp521" -> "P-521";
      default -> throw new KeyFormatException("unsupported ECDSA curve " + sshId);
    };
    X9ECParameters x9 = ECNamedCurveTable.getByName(name);
    ECNamedDomainParameters domain =
        new ECNamedDomainParameters(ECNamedCurveTable.getOID(name), x9.getCurve(), x9.getG(), x9.getN(), x9.getH(), x9.getSeed());
    return new Curve(sshId, ECDSA_PREFIX + sshId, domain, Integer.parseInt(sshId.substring(5)));
  }

  /** The curve of an ECDSA key type name, e.g. "ecdsa-sha2-nistp384". */
  static Curve curveOfType(String keyType) throws KeyFormatException {
    if (!keyType.startsWith(ECDSA_PREFIX)) {
      throw new KeyFormatException("not an ECDSA key type: " + keyType);
    }
    return curve(keyType.substring(ECDSA_PREFIX.length()));
  }

  static Curve curveOf(ECDomainParameters params) throws KeyFormatException {
    for (String id : new String[] {"nistp256", "nistp384", "nistp521"}) {
      Curve c = curve(id);
      if (c.domain().getCurve().equals(params.getCurve()) && c.domain().getG().equals(params.getG())) {
        return c;
      }
    }
    throw new KeyFormatException("ECDSA key on a curve SSH does not use");
  }

  static BigInteger positive(BigInteger v, String what) throws KeyFormatException {
    if (v.signum() <= 0) {
      throw new KeyFormatException(what + " must be positive");
    }
    return v;
  }
}
