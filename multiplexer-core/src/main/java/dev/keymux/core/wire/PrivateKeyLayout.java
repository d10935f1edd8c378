package dev.keymux.core.wire;

/**
 * Where the private fields of an added key end. ADD_IDENTITY puts the comment right after the
 * type-specific fields, so the codec must know each type's field list to find it — without
 * interpreting the values (that is the signing backend's job). Field lists: RFC 9987 §3.2.1–3.2.5
 * and OpenSSH's sshkey_private_serialize for certificates and security-key types.
 */
final class PrivateKeyLayout {
  private PrivateKeyLayout() {}

  private static final String CERT_SUFFIX = "-cert-v01@openssh.com";

  static void skipPrivateFields(String keyType, SshReader r) throws ProtocolException {
    boolean cert = keyType.endsWith(CERT_SUFFIX);
    String base = cert ? keyType.substring(0, keyType.length() - CERT_SUFFIX.length()) : keyType;
    if (cert) {
      r.skipString(); // the certificate blob, which carries the public fields
    }
    switch (base) {
      case "ssh-ed25519":
        strings(r, 2); // ENC(A), k || ENC(A)
        break;
      case "ssh-rsa":
        // plain: n, e, d, iqmp, p, q; certificate: d, iqmp, p, q (n and e are in the cert)
        strings(r, cert ? 4 : 6);
        break;
      case "ecdsa-sha2-nistp256":
      case "ecdsa-sha2-nistp384":
      case "ecdsa-sha2-nistp521":
        if (!cert) {
          strings(r, 2); // curve name, Q
        }
        strings(r, 1); // d
        break;
      case "ssh-dss":
        strings(r, cert ? 1 : 5); // p, q, g, y, x  |  x
        break;
      case "sk-ssh-ed25519@openssh.com":
        if (!cert) {
          strings(r, 1); // ENC(A)
        }
        skipSecurityKeyFields(r);
        break;
      case "sk-ecdsa-sha2-nistp256@openssh.com":
        if (!cert) {
          strings(r, 2); // curve name, Q
        }
        skipSecurityKeyFields(r);
        break;
      default:
        throw new ProtocolException("unsupported key type " + keyType);
    }
  }

  private static void skipSecurityKeyFields(SshReader r) throws ProtocolException {
    r.skipString(); // application
    r.readByte(); // flags
    r.skipString(); // key handle
    r.skipString(); // reserved
  }

  /** Steps over {@code n} strings without copying them: they are private key parts. */
  private static void strings(SshReader r, int n) throws ProtocolException {
    for (int i = 0; i < n; i++) {
      r.skipString();
    }
  }
}
