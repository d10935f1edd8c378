package dev.keymux.core.keys;

import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import java.math.BigInteger;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.DSAParameters;
import org.bouncycastle.crypto.params.DSAPublicKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.params.RSAKeyParameters;
import org.bouncycastle.math.ec.ECPoint;

/**
 * SSH public key blobs (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4) to and from Bouncy Castle
 * parameters, and the plain key inside an OpenSSH certificate (PROTOCOL.certkeys).
 */
final class SshPublicKeys {
  private SshPublicKeys() {}

  static byte[] encode(AsymmetricKeyParameter key) throws KeyFormatException {
    SshWriter w = new SshWriter();
    if (key instanceof Ed25519PublicKeyParameters ed) {
      w.writeString(SshKeyTypes.ED25519).writeString(ed.getEncoded());
    } else if (key instanceof ECPublicKeyParameters ec) {
      SshKeyTypes.Curve c = SshKeyTypes.curveOf(ec.getParameters());
      w.writeString(c.keyType()).writeString(c.sshId()).writeString(ec.getQ().getEncoded(false));
    } else if (key instanceof RSAKeyParameters rsa && !rsa.isPrivate()) {
      w.writeString(SshKeyTypes.RSA).writeMpint(rsa.getExponent()).writeMpint(rsa.getModulus());
    } else if (key instanceof DSAPublicKeyParameters dsa) {
      DSAParameters p = dsa.getParameters();
      w.writeString(SshKeyTypes.DSA).writeMpint(p.getP()).writeMpint(p.getQ()).writeMpint(p.getG()).writeMpint(dsa.getY());
    } else {
      throw new KeyFormatException("unsupported public key " + key.getClass().getSimpleName());
    }
    return w.toByteArray();
  }

  /** Parses a plain (non-certificate) public key blob. */
  static AsymmetricKeyParameter decode(byte[] blob) throws KeyFormatException {
    try {
      SshReader r = new SshReader(blob);
      String type = r.readUtf8();
      AsymmetricKeyParameter key = readFields(type, r);
      r.expectEnd("public key");
      return key;
    } catch (ProtocolException e) {
      throw new KeyFormatException("malformed public key: " + e.getMessage());
    }
  }

  /** Reads the public fields of a plain key of {@code type} (as in a key blob or certificate). */
  static AsymmetricKeyParameter readFields(String type, SshReader r) throws ProtocolException, KeyFormatException {
    if (type.equals(SshKeyTypes.ED25519)) {
      byte[] a = r.readString();
      if (a.length != Ed25519PublicKeyParameters.KEY_SIZE) {
        throw new KeyFormatException("Ed25519 public key of " + a.length + " bytes");
      }
      return new Ed25519PublicKeyParameters(a, 0);
    } else if (type.startsWith(SshKeyTypes.ECDSA_PREFIX)) {
      SshKeyTypes.Curve c = SshKeyTypes.curveOfType(type);
      String id = r.readUtf8();
      if (!id.equals(c.sshId())) {
        throw new KeyFormatException("curve " + id + " does not match key type " + type);
      }
      return new ECPublicKeyParameters(point(c, r.readString()), c.domain());
    } else if (type.equals(SshKeyTypes.RSA)) {
      BigInteger e = SshKeyTypes.positive(r.readMpint(), "RSA exponent");
      BigInteger n = SshKeyTypes.positive(r.readMpint(), "RSA modulus");
      return new RSAKeyParameters(false, n, e);
    } else if (type.equals(SshKeyTypes.DSA)) {
      BigInteger p = SshKeyTypes.positive(r.readMpint(), "DSA p");
      BigInteger q = SshKeyTypes.positive(r.readMpint(), "DSA q");
      BigInteger g = SshKeyTypes.positive(r.readMpint(), "DSA g");
      BigInteger y = SshKeyTypes.positive(r.readMpint(), "DSA y");
      return new DSAPublicKeyParameters(y, new DSAParameters(p, q, g));
    }
    throw new KeyFormatException("unsupported key type " + type);
  }

  /**
   * Steps over the public fields of a plain key of {@code type} without interpreting them — for
   * every type OpenSSH certifies, including security keys, whose fields Bouncy Castle has no type for.
   */
  static void skipFields(String type, SshReader r) throws ProtocolException, KeyFormatException {
    int fields = switch (type) {
      case SshKeyTypes.ED25519 -> 1; // A
      case SshKeyTypes.RSA -> 2; // e, n
      case SshKeyTypes.DSA -> 4; // p, q, g, y
      case SshKeyTypes.SK_ED25519 -> 2; // A, application
      case SshKeyTypes.SK_ECDSA -> 3; // curve, Q, application
      default -> {
        if (type.startsWith(SshKeyTypes.ECDSA_PREFIX)) {
          yield 2; // curve, Q
        }
        throw new KeyFormatException("unsupported key type " + type);
      }
    };
    for (int i = 0; i < fields; i++) {
      r.skipString();
    }
  }

  static ECPoint point(SshKeyTypes.Curve c, byte[] encoded) throws KeyFormatException {
    try {
      ECPoint q = c.domain().getCurve().decodePoint(encoded).normalize();
      if (q.isInfinity() || !q.isValid()) {
        throw new KeyFormatException("ECDSA public point is not on the curve");
      }
      return q;
    } catch (IllegalArgumentException e) {
      throw new KeyFormatException("malformed ECDSA public point");
    }
  }

  /**
   * The certificate's embedded key as a plain key blob. Certificate layout: string type,
   * string nonce, the key's public fields, then serial, type, key id, principals, validity,
   * options, extensions, reserved, signature key, signature.
   */
  static byte[] plainBlobOfCertificate(byte[] cert) throws KeyFormatException {
    try {
      SshReader r = new SshReader(cert);
      String type = r.readUtf8();
      if (!SshKeyTypes.isCertificate(type)) {
        throw new KeyFormatException("not a certificate: " + type);
      }
      r.readString(); // nonce
      String base = SshKeyTypes.baseType(type);
      int start = r.position();
      skipFields(base, r);
      // The plain blob is the base type and the same field bytes, copied as they are.
      return new SshWriter().writeString(base).writeRaw(java.util.Arrays.copyOfRange(cert, start, r.position()))
          .toByteArray();
    } catch (ProtocolException e) {
      throw new KeyFormatException("malformed certificate: " + e.getMessage());
    }
  }
}
