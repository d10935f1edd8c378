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
    byte[] point = unwrapOctetString(ecPoint);
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
