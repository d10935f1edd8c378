package dev.keymux.backend.pkcs11;

import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.wire.SshWriter;
import java.math.BigInteger;
import java.util.Arrays;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1String;

/**
 * One key pair on a token as SSH sees it: the public blob built from the public key object's
 * attributes, the CKA_ID linking it to its private key, and CKA_LABEL as the comment (as
 * OpenSSH's ssh-pkcs11 does).
 */
record TokenKey(KeyBlob blob, byte[] id, String label, Kind kind, String curve, int modulusBytes) {

  enum Kind { RSA, ECDSA, ED25519 }

  static final String OID_P256 = "1.2.840.10045.3.1.7";
  static final String OID_P384 = "1.3.132.0.34";
  static final String OID_P521 = "1.3.132.0.35";
  static final String OID_ED25519 = "1.3.101.112";

  static TokenKey rsa(byte[] id, String label, BigInteger n, BigInteger e) {
    byte[] blob = new SshWriter().writeString("ssh-rsa").writeMpint(e).writeMpint(n).toByteArray();
    return new TokenKey(new KeyBlob(blob), id, label, Kind.RSA, null, (n.bitLength() + 7) / 8);
  }

  /**
   * An EC or EdDSA public key from CKA_EC_PARAMS and CKA_EC_POINT. EC_PARAMS is a DER OID or,
   * for Ed25519 generated on some tokens (SoftHSM), the printable string "edwards25519";
   * EC_POINT is normally a DER OCTET STRING around the point, raw on some tokens.
   */
  static TokenKey ec(byte[] id, String label, byte[] ecParams, byte[] ecPoint, boolean edwards) {
    String curve = curveName(ecParams);
    int rawLength = switch (curve) {
      case "ed25519" -> 32;
      case "nistp256" -> 65;
      case "nistp384" -> 97;
      default -> 133;
    };
    // A raw point has exactly the curve's length; anything else should be the DER wrapping.
    byte[] point = ecPoint.length == rawLength ? ecPoint : unwrapOctetString(ecPoint);
    if (edwards || curve.equals("ed25519")) {
      if (!curve.equals("ed25519") || point.length != 32) {
        throw new IllegalArgumentException("unsupported Edwards key (" + curve + ", " + point.length + "-byte point)");
      }
      byte[] blob = new SshWriter().writeString("ssh-ed25519").writeString(point).toByteArray();
      return new TokenKey(new KeyBlob(blob), id, label, Kind.ED25519, "ed25519", 0);
    }
    byte[] blob = new SshWriter().writeString("ecdsa-sha2-" + curve).writeString(curve).writeString(point).toByteArray();
    return new TokenKey(new KeyBlob(blob), id, label, Kind.ECDSA, curve, 0);
  }

  /** The key inside a DER X.509 certificate object. */
  static TokenKey fromCertificate(byte[] id, String label, byte[] der) {
    org.bouncycastle.crypto.params.AsymmetricKeyParameter key;
    try {
      key = org.bouncycastle.crypto.util.PublicKeyFactory.createKey(
          org.bouncycastle.asn1.x509.Certificate.getInstance(der).getSubjectPublicKeyInfo());
    } catch (Exception e) {
      throw new IllegalArgumentException("unreadable X.509 certificate '" + label + "'");
    }
    if (key instanceof org.bouncycastle.crypto.params.RSAKeyParameters rsa) {
      if (rsa.getModulus().bitLength() < 2048) {
        throw new IllegalArgumentException("RSA key in certificate '" + label + "' is too weak");
      }
      return rsa(id, label, rsa.getModulus(), rsa.getExponent());
    }
    if (key instanceof org.bouncycastle.crypto.params.Ed25519PublicKeyParameters ed) {
      byte[] blob = new SshWriter().writeString("ssh-ed25519").writeString(ed.getEncoded()).toByteArray();
      return new TokenKey(new KeyBlob(blob), id, label, Kind.ED25519, "ed25519", 0);
    }
    if (key instanceof org.bouncycastle.crypto.params.ECPublicKeyParameters ec
        && ec.getParameters() instanceof org.bouncycastle.crypto.params.ECNamedDomainParameters named) {
      byte[] params;
      try {
        params = named.getName().getEncoded();
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException("certificate '" + label + "' has unusable curve parameters");
      }
      return ec(id, label, params, ec.getQ().getEncoded(false), false);
    }
    throw new IllegalArgumentException("certificate '" + label + "' holds an unsupported key type");
  }

  static String curveName(byte[] ecParams) {
    ASN1Primitive p;
    try {
      p = ASN1Primitive.fromByteArray(ecParams);
    } catch (Exception e) {
      throw new IllegalArgumentException("unreadable CKA_EC_PARAMS");
    }
    if (p instanceof ASN1String s && s.getString().equals("edwards25519")) {
      return "ed25519";
    }
    if (p instanceof ASN1ObjectIdentifier oid) {
      switch (oid.getId()) {
        case OID_P256: return "nistp256";
        case OID_P384: return "nistp384";
        case OID_P521: return "nistp521";
        case OID_ED25519: return "ed25519";
        default: throw new IllegalArgumentException("unsupported curve " + oid.getId());
      }
    }
    throw new IllegalArgumentException("unsupported CKA_EC_PARAMS " + p);
  }

  private static byte[] unwrapOctetString(byte[] point) {
    try {
      ASN1Primitive p = ASN1Primitive.fromByteArray(point);
      if (p instanceof ASN1OctetString os) {
        return os.getOctets();
      }
    } catch (Exception e) {
      // not DER: the raw point itself
    }
    return point;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TokenKey t && blob.equals(t.blob) && Arrays.equals(id, t.id);
  }

  @Override
  public int hashCode() {
    return blob.hashCode();
  }
}
