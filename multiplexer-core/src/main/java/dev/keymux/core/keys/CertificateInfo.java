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
      SshReader r = new SshReader(cert);
      String type = r.readUtf8();
      if (!SshKeyTypes.isCertificate(type)) {
        throw new KeyFormatException("not a certificate: " + type);
      }
      r.readString(); // nonce
      SshPublicKeys.readFields(SshKeyTypes.baseType(type), r);
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

  private static long readUint64(SshReader r) throws ProtocolException {
    long hi = r.readUint32();
    long lo = r.readUint32();
    long v = (hi << 32) | lo;
    return v < 0 ? Long.MAX_VALUE : v; // beyond 2^63 is "forever" for any practical clock
  }

  /** True when {@code epochSecond} lies inside the validity window. */
  public boolean validAt(long epochSecond) {
    return epochSecond >= validAfter && epochSecond < validBefore;
  }
}
