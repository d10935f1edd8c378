package dev.keymux.core.keys;

import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of an OpenSSH certificate a user cares about (PROTOCOL.certkeys): key id,
 * principals and validity. Times are seconds since the epoch; validBefore is unsigned in the
 * format, and "forever" (2^64-1) reads as {@link Long#MAX_VALUE}.
 */
public record CertificateInfo(String type, String keyId, long serial, int certType, List<String> principals,
    long validAfter, long validBefore) {

  public static CertificateInfo parse(byte[] cert) throws KeyFormatException {
    try {
      SshReader r = atSerial(cert);
      String type = Fingerprints.keyType(cert);
      long serial = readUint64(r);
      int certType = (int) r.readUint32();
      String keyId = r.readUtf8();
      SshReader p = new SshReader(r.readString());
      List<String> principals = new ArrayList<>();
      while (p.hasRemaining()) {
        principals.add(p.readUtf8());
      }
      long validAfter = readUint64(r);
      long validBefore = readUint64(r);
      return new CertificateInfo(type, keyId, serial, certType, List.copyOf(principals), validAfter, validBefore);
    } catch (ProtocolException e) {
      throw new KeyFormatException("malformed certificate: " + e.getMessage());
    }
  }

  /** A reader over {@code cert} past its type, nonce and key fields: at the serial. */
  private static SshReader atSerial(byte[] cert) throws ProtocolException, KeyFormatException {
    SshReader r = new SshReader(cert);
    String type = r.readUtf8();
    if (!SshKeyTypes.isCertificate(type)) {
      throw new KeyFormatException("not a certificate: " + type);
    }
    r.readString(); // nonce
    SshPublicKeys.skipFields(SshKeyTypes.baseType(type), r);
    return r;
  }

  private static long readUint64(SshReader r) throws ProtocolException {
    long hi = r.readUint32();
    long lo = r.readUint32();
    long v = (hi << 32) | lo;
    return v < 0 ? Long.MAX_VALUE : v; // beyond 2^63 is "forever" for any practical clock
  }

  /** SSH_CERT_TYPE_HOST (PROTOCOL.certkeys): a certificate naming hosts rather than users. */
  public static final int HOST_CERTIFICATE = 2;

  /**
   * The CA key (a plain public key blob) that signed {@code cert}, after checking that its
   * signature over the certificate verifies; throws when it does not, so a forged certificate is
   * never taken for one the CA issued.
   */
  public static byte[] verifiedSigner(byte[] cert) throws KeyFormatException {
    try {
      SshReader r = atSerial(cert);
      readUint64(r); // serial
      r.readUint32(); // type
      r.skipString(); // key id
      r.skipString(); // principals
      readUint64(r); // valid after
      readUint64(r); // valid before
      r.skipString(); // critical options
      r.skipString(); // extensions
      r.skipString(); // reserved
      byte[] signer = r.readString();
      int signedLength = r.position();
      byte[] signature = r.readString();
      r.expectEnd("certificate");
      if (SshKeyTypes.isCertificate(Fingerprints.keyType(signer))) {
        throw new KeyFormatException("certificate signed by another certificate");
      }
      if (!SshSignatures.verify(signer, signature, java.util.Arrays.copyOf(cert, signedLength))) {
        throw new KeyFormatException("certificate signature does not verify");
      }
      return signer;
    } catch (ProtocolException e) {
      throw new KeyFormatException("malformed certificate: " + e.getMessage());
    }
  }

  /**
   * Why this certificate does not identify host {@code hostname} now, or null when it does: it
   * must be a host certificate that lists the name as a principal (OpenSSH requires a principal
   * for hosts) and be valid at {@code epochSecond} — OpenSSH's sshkey_cert_check_host.
   */
  public String hostMismatch(String hostname, long epochSecond) {
    if (certType != HOST_CERTIFICATE) {
      return "not a host certificate";
    }
    if (!validAt(epochSecond)) {
      return "certificate not valid now";
    }
    if (hostname == null || !principals.contains(hostname)) {
      return "certificate does not name " + (hostname == null ? "the host" : hostname);
    }
    return null;
  }

  /** True when {@code epochSecond} lies inside the validity window. */
  public boolean validAt(long epochSecond) {
    return epochSecond >= validAfter && epochSecond < validBefore;
  }
}
