package dev.keymux.backend.file;

import dev.keymux.core.keys.KeyFormatException;
import dev.keymux.core.keys.SshPrivateKey;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import java.io.IOException;
import java.io.CharArrayReader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.DSAPrivateKeyParameters;
import org.bouncycastle.crypto.params.RSAPrivateCrtKeyParameters;
import org.bouncycastle.crypto.util.OpenSSHPrivateKeyUtil;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMDecryptorProviderBuilder;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/**
 * Private key files in the formats OpenSSH and OpenSSL write: openssh-key-v1 (any cipher
 * ssh-keygen offers), PEM PKCS#1 RSA / SEC1 EC (plain or Proc-Type encrypted) and PKCS#8 (plain
 * or encrypted). Parsing is Bouncy Castle's; this class only picks the right entry point, reads
 * the public half that openssh-key-v1 keeps in the clear, and tells a wrong passphrase from a
 * broken file.
 *
 * <p>Wiping: the file is handed to Bouncy Castle as a {@code char[]} that is zeroed afterwards,
 * and the decoded PEM body ({@link PemObject#getContent()}) is zeroed after use. What is left
 * cannot be wiped from here: Bouncy Castle's PEM readers buffer the text and build a String per
 * base64 line, decryption makes internal plaintext copies, and key parameters end up in immutable
 * BigIntegers. Those are unreachable after the call and only the garbage collector reclaims them.
 */
final class KeyFiles {
  private KeyFiles() {}

  static final int RSA_MIN_BITS = 2048;
  private static final byte[] OPENSSH_MAGIC = "openssh-key-v1\0".getBytes(StandardCharsets.US_ASCII);
  /**
   * Bouncy Castle's JCA provider, for encrypted PEM and PKCS#8 files only: building it loads
   * some 500 classes, so it waits for the first such file instead of slowing every start.
   */
  private static final class Jca {
    static final BouncyCastleProvider BC = new BouncyCastleProvider();
  }

  /** A file that cannot be used, with a reason fit for the log. */
  static final class KeyFileException extends Exception {
    KeyFileException(String message) {
      super(message);
    }
  }

  /** The passphrase did not decrypt the key. */
  static final class WrongPassphraseException extends Exception {
    WrongPassphraseException() {
      super("wrong passphrase");
    }
  }

  /** What can be learned from a key file without its passphrase. */
  record Inspection(String format, boolean encrypted, byte[] publicBlob) {}

  static Inspection inspect(byte[] file) throws KeyFileException {
    PemObject pem = pem(file);
    try {
      return inspect(file, pem);
    } finally {
      Arrays.fill(pem.getContent(), (byte) 0); // an unencrypted key's secret, decoded
    }
  }

  private static Inspection inspect(byte[] file, PemObject pem) throws KeyFileException {
    switch (pem.getType()) {
      case "OPENSSH PRIVATE KEY": {
        try {
          SshReader r = new SshReader(pem.getContent());
          if (!Arrays.equals(r.readBytes(OPENSSH_MAGIC.length), OPENSSH_MAGIC)) {
            throw new KeyFileException("not an openssh-key-v1 file");
          }
          String cipher = r.readUtf8();
          r.readUtf8(); // kdf name
          r.readString(); // kdf options
          long n = r.readUint32();
          if (n != 1) {
            throw new KeyFileException("holds " + n + " keys; OpenSSH key files hold exactly one");
          }
          byte[] pub = r.readString();
          return new Inspection("openssh-key-v1" + ("none".equals(cipher) ? "" : " (" + cipher + ")"), !"none".equals(cipher), pub);
        } catch (ProtocolException e) {
          throw new KeyFileException("truncated or corrupt openssh-key-v1 data (" + e.getMessage() + ")");
        }
      }
      case "RSA PRIVATE KEY":
      case "EC PRIVATE KEY":
      case "PRIVATE KEY": {
        boolean encrypted = false;
        for (Object h : pem.getHeaders()) {
          encrypted |= String.valueOf(((org.bouncycastle.util.io.pem.PemHeader) h).getValue()).contains("ENCRYPTED");
        }
        String format = pem.getType().equals("PRIVATE KEY") ? "PKCS#8" : "PEM " + pem.getType().replace(" PRIVATE KEY", "");
        if (encrypted) {
          return new Inspection(format + " (encrypted)", true, null);
        }
        try (SshPrivateKey key = decrypt(file, null)) {
          return new Inspection(format, false, key.publicBlob());
        } catch (WrongPassphraseException e) {
          throw new KeyFileException("unreadable " + format + " key");
        }
      }
      case "ENCRYPTED PRIVATE KEY":
        return new Inspection("PKCS#8 (encrypted)", true, null);
      case "DSA PRIVATE KEY":
        throw new KeyFileException("DSA keys are not supported (OpenSSH no longer accepts them); use ed25519");
      default:
        throw new KeyFileException("not a private key (PEM type " + pem.getType() + ")");
    }
  }

  /**
   * Refuses key types keymux does not serve from files: DSA (dropped by OpenSSH), RSA below
   * {@link #RSA_MIN_BITS}, and anything unknown.
   */
  static void checkPublicKey(byte[] blob) throws KeyFileException {
    try {
      SshReader r = new SshReader(blob);
      String type = r.readUtf8();
      switch (type) {
        case "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
            "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com":
          return; // security keys sign through their authenticator (SecurityKeyFiles)
        case "ssh-rsa": {
          r.readMpint(); // e
          int bits = r.readMpint().bitLength();
          if (bits < RSA_MIN_BITS) {
            throw new KeyFileException("RSA key of " + bits + " bits is too weak (minimum " + RSA_MIN_BITS + ")");
          }
          return;
        }
        case "ssh-dss":
          throw new KeyFileException("DSA keys are not supported (OpenSSH no longer accepts them); use ed25519");
        default:
          throw new KeyFileException("key type " + type + " is not supported from files");
      }
    } catch (ProtocolException e) {
      throw new KeyFileException("malformed public key (" + e.getMessage() + ")");
    }
  }

  /**
   * Decrypts (or, with a null passphrase, just parses) the key. The passphrase is not kept; the
   * caller wipes it.
   */
  static SshPrivateKey decrypt(byte[] file, byte[] passphrase) throws KeyFileException, WrongPassphraseException {
    PemObject pem = pem(file);
    AsymmetricKeyParameter key;
    try {
      if (pem.getType().equals("OPENSSH PRIVATE KEY")) {
        try {
          key = passphrase == null
              ? OpenSSHPrivateKeyUtil.parsePrivateKeyBlob(pem.getContent())
              : OpenSSHPrivateKeyUtil.parsePrivateKeyBlob(pem.getContent(), passphrase);
        } catch (IllegalStateException e) {
          String m = String.valueOf(e.getMessage());
          if (m.contains("check values") || m.contains("passphrase")) {
            throw new WrongPassphraseException();
          }
          throw new KeyFileException("corrupt openssh-key-v1 data: " + m);
        } catch (RuntimeException e) {
          throw new KeyFileException("corrupt openssh-key-v1 data: " + e.getMessage());
        }
      } else {
        key = decryptPem(file, passphrase);
      }
    } finally {
      Arrays.fill(pem.getContent(), (byte) 0);
    }
    if (key instanceof DSAPrivateKeyParameters) {
      throw new KeyFileException("DSA keys are not supported (OpenSSH no longer accepts them); use ed25519");
    }
    if (key instanceof RSAPrivateCrtKeyParameters rsa && rsa.getModulus().bitLength() < RSA_MIN_BITS) {
      throw new KeyFileException("RSA key of " + rsa.getModulus().bitLength() + " bits is too weak (minimum " + RSA_MIN_BITS + ")");
    }
    try {
      return SshPrivateKey.fromBouncyCastle(key, null);
    } catch (KeyFormatException e) {
      throw new KeyFileException(e.getMessage());
    }
  }

  private static AsymmetricKeyParameter decryptPem(byte[] file, byte[] passphrase) throws KeyFileException, WrongPassphraseException {
    char[] chars = passphrase == null ? new char[0] : toChars(passphrase);
    char[] text = ascii(file);
    try (PEMParser parser = new PEMParser(new CharArrayReader(text))) {
      Object o = parser.readObject();
      PrivateKeyInfo info;
      if (o instanceof PEMKeyPair pair) {
        info = pair.getPrivateKeyInfo();
      } else if (o instanceof PrivateKeyInfo pki) {
        info = pki;
      } else if (o instanceof PEMEncryptedKeyPair enc) {
        if (passphrase == null) {
          throw new WrongPassphraseException();
        }
        try {
          info = enc.decryptKeyPair(new JcePEMDecryptorProviderBuilder().setProvider(Jca.BC).build(chars)).getPrivateKeyInfo();
        } catch (IOException e) {
          throw new WrongPassphraseException();
        }
      } else if (o instanceof PKCS8EncryptedPrivateKeyInfo enc) {
        if (passphrase == null) {
          throw new WrongPassphraseException();
        }
        try {
          info = enc.decryptPrivateKeyInfo(new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(Jca.BC).build(chars));
        } catch (Exception e) {
          throw new WrongPassphraseException();
        }
      } else {
        throw new KeyFileException("not a private key");
      }
      return PrivateKeyFactory.createKey(info);
    } catch (IOException | RuntimeException e) {
      throw new KeyFileException("corrupt PEM key: " + e.getMessage());
    } finally {
      Arrays.fill(chars, '\0');
      Arrays.fill(text, '\0');
    }
  }

  private static PemObject pem(byte[] file) throws KeyFileException {
    char[] text = ascii(file);
    try (PemReader r = new PemReader(new CharArrayReader(text))) {
      PemObject o = r.readPemObject();
      if (o == null) {
        throw new KeyFileException("not a PEM or OpenSSH key file");
      }
      return o;
    } catch (IOException | RuntimeException e) {
      throw new KeyFileException("truncated or corrupt key file (" + e.getMessage() + ")");
    } finally {
      Arrays.fill(text, '\0');
    }
  }

  /** The file's bytes as chars for Bouncy Castle's readers, without a String (which cannot be wiped); the caller wipes it. */
  private static char[] ascii(byte[] file) {
    char[] text = new char[file.length];
    for (int i = 0; i < file.length; i++) {
      text[i] = (char) (file[i] & 0xff); // PEM is ASCII; anything else is rejected by the parser
    }
    return text;
  }

  /** UTF-8 bytes to chars without an intermediate String (Strings cannot be wiped). */
  private static char[] toChars(byte[] utf8) {
    CharBuffer cb = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(utf8));
    char[] out = Arrays.copyOf(cb.array(), cb.limit());
    Arrays.fill(cb.array(), '\0');
    return out;
  }
}
