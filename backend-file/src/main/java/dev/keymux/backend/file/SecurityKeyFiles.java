package dev.keymux.backend.file;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.keys.KeyFormatException;
import dev.keymux.core.keys.SecurityKey;
import dev.keymux.core.keys.SkHelper;
import dev.keymux.core.prompt.Prompter;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/**
 * Signs with security-key files (id_ed25519_sk, id_ecdsa_sk): an unencrypted openssh-key-v1
 * file holds the key's public part, application, flags and key handle — what ssh-sk-helper
 * takes — and the authenticator does the signing, as for keys added with ssh-add.
 */
final class SecurityKeyFiles {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  private final SkHelper helper;
  private final String provider;
  private final Prompter prompter; // null: tell nobody but the log

  SecurityKeyFiles(SkHelper helper, String provider, Prompter prompter) {
    this.helper = helper;
    this.provider = provider;
    this.prompter = prompter;
  }

  /** The configured provider, else keymux's SSH_SK_PROVIDER, else "internal". */
  static SecurityKeyFiles from(String configured, Map<String, String> env, Prompter prompter) {
    String p = configured != null && !configured.isEmpty() ? configured : env.getOrDefault("SSH_SK_PROVIDER", "");
    return new SecurityKeyFiles(SkHelper.fromEnvironment(env, TIMEOUT), p.isEmpty() ? "internal" : p, prompter);
  }

  byte[] sign(Session session, byte[] file, KeyBlob blob, String comment, byte[] data) throws AgentException {
    try (SecurityKey key = read(file, blob)) {
      if (!key.maySign(data)) {
        throw AgentException.failed("security key for web origin " + key.application() + " may sign only ssh logins");
      }
      if (key.needsPin()) {
        throw AgentException.failed("security key " + comment + " needs its PIN: add it with ssh-add instead");
      }
      String touch = "touch your security key to sign with " + blob.type() + " key "
          + Fingerprints.sha256(blob.bytes()) + " (" + comment + ")";
      try (Prompter.Notice shown = !key.needsTouch() ? () -> {}
          : prompter != null ? prompter.notice(session, touch) : logged(session, touch)) {
        return helper.sign(key, provider, data, null);
      }
    } catch (SkHelper.SkException e) {
      throw AgentException.failed("signing with security key " + comment + " failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw AgentException.failed("interrupted while the security key signed");
    }
  }

  private static Prompter.Notice logged(Session session, String text) {
    org.slf4j.LoggerFactory.getLogger(SecurityKeyFiles.class).info("{}: {}", session, text);
    return () -> {};
  }

  /**
   * The key in {@code file} as the helper needs it, identified by {@code blob}: the plain key, or
   * — when {@code blob} is its certificate (NAME-cert.pub) — the certificate form of it.
   */
  static SecurityKey read(byte[] file, KeyBlob blob) throws AgentException {
    byte[] material = null;
    try (PemReader pem = new PemReader(new java.io.StringReader(new String(file, java.nio.charset.StandardCharsets.US_ASCII)))) {
      PemObject o = pem.readPemObject();
      if (o == null || !o.getType().equals("OPENSSH PRIVATE KEY")) {
        throw AgentException.failed("security key file is not an openssh-key-v1 file");
      }
      SshReader r = new SshReader(o.getContent());
      r.readBytes(15); // "openssh-key-v1\0", checked when the file was scanned
      if (!r.readUtf8().equals("none")) {
        throw AgentException.failed("encrypted security-key files are not served from disk; add the key with ssh-add");
      }
      r.readUtf8(); // kdf
      r.readString(); // kdf options
      r.readUint32(); // one key
      r.readString(); // public key
      byte[] section = r.readString();
      SshReader priv = new SshReader(section);
      if (priv.readUint32() != priv.readUint32()) {
        throw AgentException.failed("corrupt openssh-key-v1 data (check values differ)");
      }
      int start = priv.position();
      String type = priv.readUtf8();
      int fieldsStart = priv.position();
      int publicFields = type.startsWith("sk-ssh-ed25519") ? 1 : 2; // A | curve, Q
      for (int i = 0; i < publicFields + 1; i++) {
        priv.skipString(); // ... and the application
      }
      priv.readByte(); // flags
      priv.skipString(); // key handle
      priv.skipString(); // reserved
      Arrays.fill(o.getContent(), (byte) 0);
      if (blob.type().endsWith("-cert-v01@openssh.com")) {
        // The certificate form: cert type, the certificate, then the private fields after the public ones.
        SshReader skip = new SshReader(section, fieldsStart, priv.position() - fieldsStart);
        for (int i = 0; i < publicFields; i++) {
          skip.skipString();
        }
        material = new SshWriter().writeString(blob.type()).writeString(blob.bytes())
            .writeRaw(Arrays.copyOfRange(section, skip.position(), priv.position())).toByteArray();
      } else {
        material = Arrays.copyOfRange(section, start, priv.position());
      }
      Arrays.fill(section, (byte) 0);
      SecurityKey key = SecurityKey.fromAgentWire(material);
      if (!new KeyBlob(key.publicBlob()).equals(blob)) {
        key.close();
        throw AgentException.failed("security key file does not hold key " + Fingerprints.sha256(blob.bytes()));
      }
      return key;
    } catch (java.io.IOException | ProtocolException | KeyFormatException e) {
      throw AgentException.failed("unreadable security key file: " + e.getMessage());
    } finally {
      if (material != null) {
        Arrays.fill(material, (byte) 0);
      }
    }
  }
}
