package dev.keymux.core.keys;


import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import java.math.BigInteger;
import java.util.Arrays;
import org.bouncycastle.crypto.CryptoException;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA1Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.digests.SHA512Digest;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.DSAParameters;
import org.bouncycastle.crypto.params.DSAPrivateKeyParameters;
import org.bouncycastle.crypto.params.DSAPublicKeyParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.RSAKeyParameters;
import org.bouncycastle.crypto.params.RSAPrivateCrtKeyParameters;
import org.bouncycastle.crypto.signers.DSASigner;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;
import org.bouncycastle.crypto.signers.RSADigestSigner;

/**
 * A private key in memory, ready to sign: Ed25519, ECDSA P-256/384/521, RSA or DSA, optionally with
 * an OpenSSH certificate that is then its identity. Built from the ADD_IDENTITY wire encoding or
 * from Bouncy Castle parameters (key files). {@link #close()} wipes what Java lets us wipe: the
 * raw key bytes we hold; Bouncy Castle's parameter objects keep their own copies (BigIntegers
 * are immutable), which only the garbage collector reclaims.
 */
public final class SshPrivateKey implements AutoCloseable {
  private final String type;
  private final byte[] publicBlob;
  private final AsymmetricKeyParameter key;
  private final byte[] ed25519Seed; // our own copy of secret bytes, wiped on close
  private volatile boolean closed;

  private SshPrivateKey(String type, byte[] publicBlob, AsymmetricKeyParameter key, byte[] ed25519Seed) {
    this.type = type;
    this.publicBlob = publicBlob;
    this.key = key;
    this.ed25519Seed = ed25519Seed;
  }

  /** The key type on the wire (for certificates the certificate type). */
  public String type() {
    return type;
  }

  /** The blob the key is known by: the public key, or the certificate. */
  public byte[] publicBlob() {
    return publicBlob.clone();
  }

  /**
   * Parses the key part of SSH_AGENTC_ADD_IDENTITY (RFC 9987 §3.2): {@code string type} and the
   * type's private fields, nothing after. The private and public halves must agree.
   */
  public static SshPrivateKey fromAgentWire(byte[] keyMaterial) throws KeyFormatException {
    byte[] seed = null;
    try {
      SshReader r = new SshReader(keyMaterial);
      String type = r.readUtf8();
      String base = SshKeyTypes.baseType(type);
      byte[] cert = SshKeyTypes.isCertificate(type) ? r.readString() : null;
      AsymmetricKeyParameter certKey = null;
      if (cert != null) {
        SshReader c = new SshReader(cert);
        String certType = c.readUtf8();
        if (!certType.equals(type)) {
          throw new KeyFormatException("certificate of type " + certType + " sent as " + type);
        }
        c.readString(); // nonce
        certKey = SshPublicKeys.readFields(base, c);
      }
      SshPrivateKey key;
      if (base.equals(SshKeyTypes.ED25519)) {
        byte[] a = r.readString();
        byte[] ka = r.readString();
        try {
          if (a.length != 32 || ka.length != 64) {
            throw new KeyFormatException("Ed25519 key fields of " + a.length + " and " + ka.length + " bytes");
          }
          if (!Arrays.equals(a, 0, 32, ka, 32, 64)) {
            throw new KeyFormatException("Ed25519 private key does not contain its public key");
          }
          seed = Arrays.copyOf(ka, 32);
          key = ed25519(seed, cert, type);
        } finally {
          Arrays.fill(ka, (byte) 0);
        }
        if (!Arrays.equals(((Ed25519PrivateKeyParameters) key.key).generatePublicKey().getEncoded(), a)) {
          throw new KeyFormatException("Ed25519 public key does not match the private key");
        }
      } else if (base.startsWith(SshKeyTypes.ECDSA_PREFIX)) {
        SshKeyTypes.Curve c = SshKeyTypes.curveOfType(base);
        ECPublicKeyParameters pub;
        if (cert == null) {
          String id = r.readUtf8();
          if (!id.equals(c.sshId())) {
            throw new KeyFormatException("curve " + id + " does not match key type " + base);
          }
          pub = new ECPublicKeyParameters(SshPublicKeys.point(c, r.readString()), c.domain());
        } else {
          pub = (ECPublicKeyParameters) certKey;
        }
        BigInteger d = r.readMpint();
        if (d.signum() <= 0 || d.compareTo(c.domain().getN()) >= 0) {
          throw new KeyFormatException("ECDSA private scalar out of range");
        }
        if (!c.domain().getG().multiply(d).normalize().equals(pub.getQ())) {
          throw new KeyFormatException("ECDSA public key does not match the private key");
        }
        key = new SshPrivateKey(type, cert != null ? cert : SshPublicKeys.encode(pub),
            new ECPrivateKeyParameters(d, c.domain()), null);
      } else if (base.equals(SshKeyTypes.RSA)) {
        BigInteger n;
        BigInteger e;
        if (cert == null) {
          n = r.readMpint();
          e = r.readMpint();
        } else {
          n = ((RSAKeyParameters) certKey).getModulus();
          e = ((RSAKeyParameters) certKey).getExponent();
        }
        BigInteger d = r.readMpint();
        BigInteger iqmp = r.readMpint();
        BigInteger p = r.readMpint();
        BigInteger q = r.readMpint();
        key = rsa(type, cert, n, e, d, iqmp, p, q);
      } else if (base.equals(SshKeyTypes.DSA)) {
        DSAPublicKeyParameters pub;
        if (cert == null) {
          pub = (DSAPublicKeyParameters) SshPublicKeys.readFields(SshKeyTypes.DSA, r);
        } else {
          pub = (DSAPublicKeyParameters) certKey;
        }
        BigInteger x = r.readMpint();
        DSAParameters params = pub.getParameters();
        if (params.getQ().bitLength() != 160) {
          throw new KeyFormatException("DSA key with a " + params.getQ().bitLength() + "-bit q (SSH's ssh-dss needs 160)");
        }
        if (x.signum() <= 0 || x.compareTo(params.getQ()) >= 0 || !params.getG().modPow(x, params.getP()).equals(pub.getY())) {
          throw new KeyFormatException("DSA public key does not match the private key");
        }
        key = new SshPrivateKey(type, cert != null ? cert : SshPublicKeys.encode(pub), new DSAPrivateKeyParameters(x, params), null);
      } else {
        throw new KeyFormatException("unsupported key type " + type);
      }
      r.expectEnd("private key");
      return key;
    } catch (ProtocolException e) {
      throw new KeyFormatException("malformed private key: " + e.getMessage());
    } catch (ClassCastException e) {
      throw new KeyFormatException("certificate key does not fit its type");
    } finally {
      if (seed != null) {
        // ed25519() copied what it keeps
        Arrays.fill(seed, (byte) 0);
      }
    }
  }

  /**
   * A key parsed elsewhere (key files): Ed25519, named-curve ECDSA or RSA CRT parameters, with
   * the certificate blob that identifies it or null.
   */
  public static SshPrivateKey fromBouncyCastle(AsymmetricKeyParameter privateKey, byte[] certificateBlob)
      throws KeyFormatException {
    String certType = certificateBlob == null ? null : Fingerprints.keyType(certificateBlob);
    if (privateKey instanceof Ed25519PrivateKeyParameters ed) {
      byte[] seed = ed.getEncoded();
      try {
        SshPrivateKey k = ed25519(seed, certificateBlob, certType != null ? certType : SshKeyTypes.ED25519);
        checkCertificateMatches(k, ed.generatePublicKey());
        return k;
      } finally {
        Arrays.fill(seed, (byte) 0);
      }
    } else if (privateKey instanceof ECPrivateKeyParameters ec) {
      SshKeyTypes.Curve c = SshKeyTypes.curveOf(ec.getParameters());
      ECPublicKeyParameters pub = new ECPublicKeyParameters(c.domain().getG().multiply(ec.getD()).normalize(), c.domain());
      SshPrivateKey k = new SshPrivateKey(certType != null ? certType : c.keyType(),
          certificateBlob != null ? certificateBlob.clone() : SshPublicKeys.encode(pub),
          new ECPrivateKeyParameters(ec.getD(), c.domain()), null);
      checkCertificateMatches(k, pub);
      return k;
    } else if (privateKey instanceof RSAPrivateCrtKeyParameters rsa) {
      SshPrivateKey k = rsa(certType != null ? certType : SshKeyTypes.RSA, certificateBlob, rsa.getModulus(),
          rsa.getPublicExponent(), rsa.getExponent(), rsa.getQInv(), rsa.getP(), rsa.getQ());
      checkCertificateMatches(k, new RSAKeyParameters(false, rsa.getModulus(), rsa.getPublicExponent()));
      return k;
    }
    throw new KeyFormatException("unsupported private key " + privateKey.getClass().getSimpleName());
  }

  private static void checkCertificateMatches(SshPrivateKey k, AsymmetricKeyParameter pub) throws KeyFormatException {
    if (SshKeyTypes.isCertificate(k.type)
        && !Arrays.equals(SshPublicKeys.plainBlobOfCertificate(k.publicBlob), SshPublicKeys.encode(pub))) {
      throw new KeyFormatException("certificate is for a different key");
    }
  }

  private static SshPrivateKey ed25519(byte[] seed, byte[] cert, String type) throws KeyFormatException {
    Ed25519PrivateKeyParameters priv = new Ed25519PrivateKeyParameters(seed, 0);
    byte[] blob = cert != null ? cert.clone() : SshPublicKeys.encode(priv.generatePublicKey());
    if (cert != null && !Arrays.equals(SshPublicKeys.plainBlobOfCertificate(cert), SshPublicKeys.encode(priv.generatePublicKey()))) {
      throw new KeyFormatException("certificate is for a different key");
    }
    return new SshPrivateKey(type, blob, priv, seed.clone());
  }

  private static SshPrivateKey rsa(String type, byte[] cert, BigInteger n, BigInteger e, BigInteger d, BigInteger iqmp,
      BigInteger p, BigInteger q) throws KeyFormatException {
    for (BigInteger v : new BigInteger[] {n, e, d, iqmp, p, q}) {
      SshKeyTypes.positive(v, "RSA parameter");
    }
    if (n.bitLength() < SshKeyTypes.RSA_MIN_BITS) {
      throw new KeyFormatException("RSA key of " + n.bitLength() + " bits is too small (minimum " + SshKeyTypes.RSA_MIN_BITS + ")");
    }
    if (!p.multiply(q).equals(n)) {
      throw new KeyFormatException("RSA modulus is not p*q");
    }
    BigInteger dP = d.mod(p.subtract(BigInteger.ONE));
    BigInteger dQ = d.mod(q.subtract(BigInteger.ONE));
    RSAPrivateCrtKeyParameters priv = new RSAPrivateCrtKeyParameters(n, e, d, p, q, dP, dQ, iqmp);
    byte[] blob = cert != null ? cert.clone() : SshPublicKeys.encode(new RSAKeyParameters(false, n, e));
    return new SshPrivateKey(type, blob, priv, null);
  }

  /**
   * The same private key identified by {@code certificateBlob} (an OpenSSH certificate of its
   * public key), for offering a key file together with its NAME-cert.pub.
   */
  public SshPrivateKey withCertificate(byte[] certificateBlob) throws KeyFormatException {
    String certType = Fingerprints.keyType(certificateBlob);
    if (!SshKeyTypes.isCertificate(certType)
        || !Arrays.equals(SshPublicKeys.plainBlobOfCertificate(certificateBlob), SshSignatures.publicBlobOf(publicBlob))) {
      throw new KeyFormatException("certificate is for a different key");
    }
    return new SshPrivateKey(certType, certificateBlob.clone(), key, ed25519Seed == null ? null : ed25519Seed.clone());
  }

  /**
   * Signs {@code data}; returns the SSH signature blob. RSA uses rsa-sha2-256 or rsa-sha2-512
   * when the flags ask for it (256 when both are set, like OpenSSH), else ssh-rsa (SHA-1) as RFC 8332 §3 requires; other types ignore
   * the flags. A certificate signs with its key's algorithm. Safe from several threads at once:
   * each call makes its own signer over the key's immutable parameters.
   */
  public byte[] sign(byte[] data, int flags) {
    if (closed) {
      throw new IllegalStateException("key was removed");
    }
    SshWriter w = new SshWriter();
    if (key instanceof Ed25519PrivateKeyParameters ed) {
      Ed25519Signer s = new Ed25519Signer();
      s.init(true, ed);
      s.update(data, 0, data.length);
      w.writeString(SshKeyTypes.ED25519).writeString(s.generateSignature());
    } else if (key instanceof ECPrivateKeyParameters ec) {
      SshKeyTypes.Curve c;
      try {
        c = SshKeyTypes.curveOf(ec.getParameters());
      } catch (KeyFormatException e) {
        throw new IllegalStateException(e);
      }
      // Deterministic nonces (RFC 6979): no dependence on the quality of a random source.
      ECDSASigner s = new ECDSASigner(new HMacDSAKCalculator(c.digest()));
      s.init(true, ec);
      BigInteger[] rs = s.generateSignature(SshSignatures.hash(c.digest(), data));
      byte[] inner = new SshWriter().writeMpint(rs[0]).writeMpint(rs[1]).toByteArray();
      w.writeString(c.keyType()).writeString(inner);
    } else if (key instanceof RSAPrivateCrtKeyParameters rsa) {
      String algorithm = SshSignatures.rsaAlgorithm(flags);
      Digest digest = switch (algorithm) {
        case "rsa-sha2-256" -> new SHA256Digest();
        case "rsa-sha2-512" -> new SHA512Digest();
        default -> new SHA1Digest();
      };
      RSADigestSigner s = new RSADigestSigner(digest);
      s.init(true, rsa);
      s.update(data, 0, data.length);
      byte[] sig;
      try {
        sig = s.generateSignature();
      } catch (CryptoException e) {
        throw new IllegalStateException("RSA signing failed", e);
      }
      int len = (rsa.getModulus().bitLength() + 7) / 8;
      if (sig.length < len) { // RFC 8332 §3: the signature is exactly as long as the modulus
        byte[] padded = new byte[len];
        System.arraycopy(sig, 0, padded, len - sig.length, sig.length);
        sig = padded;
      }
      w.writeString(algorithm).writeString(sig);
    } else if (key instanceof DSAPrivateKeyParameters dsa) {
      // RFC 4253 §6.6: SHA-1, r and s as two unsigned 160-bit integers; RFC 6979 nonces.
      DSASigner s = new DSASigner(new HMacDSAKCalculator(new SHA1Digest()));
      s.init(true, dsa);
      BigInteger[] rs = s.generateSignature(SshSignatures.hash(new SHA1Digest(), data));
      byte[] sig = new byte[40];
      SshSignatures.putUnsigned(rs[0], sig, 0, 20);
      SshSignatures.putUnsigned(rs[1], sig, 20, 20);
      w.writeString(SshKeyTypes.DSA).writeString(sig);
    } else {
      throw new IllegalStateException("unsupported key");
    }
    return w.toByteArray();
  }

  @Override
  public void close() {
    closed = true;
    if (ed25519Seed != null) {
      Arrays.fill(ed25519Seed, (byte) 0);
    }
  }
}
