package dev.keymux.backend.pkcs11;

import dev.keymux.core.agent.Session;
import dev.keymux.core.prompt.Prompter;
import dev.keymux.core.prompt.SecretStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a token's user PIN comes from: a prompt (keymux.prompt), the Secret Service, an
 * environment variable or a private file. A source that would give the same PIN again without a person typing it (env,
 * file, keyring) stops giving it once the token refused it: every wrong PIN brings the token
 * closer to locking, and a signature every few seconds would lock it within a minute.
 */
interface PinSource {
  /**
   * The PIN, or empty when cancelled or unavailable; the caller wipes it.
   *
   * @param session the connection whose signature needs the login: the prompt layer decides from
   *     it whether its client's terminal may be asked on
   */
  Optional<char[]> pin(String tokenLabel, String hint, Session session) throws InterruptedException;

  /** Told when the token refused (CKR_PIN_INCORRECT) the PIN this source gave last. */
  default void rejected() {}

  /** Where the PIN comes from, for messages ("environment variable HSM_PIN"). */
  default String describe() {
    return "the PIN source";
  }

  /** Attribute under which token PINs are kept in the desktop's secret store (pin = keyring). */
  String KEYRING_ATTRIBUTE = "keymux-pkcs11-token";

  static PinSource of(String spec, Map<String, String> env, Prompter prompter, Optional<SecretStore> store) {
    if (spec.equals("keyring")) {
      return new KeyringPin(store, new PromptedPin(prompter));
    }
    if (spec.startsWith("env:")) {
      return new EnvPin(spec.substring(4), env);
    }
    if (spec.startsWith("file:")) {
      return new FilePin(Path.of(spec.substring(5)));
    }
    return new PromptedPin(prompter); // "askpass": the name from before keymux.prompt chose the way of asking
  }

  /** Asks the user on every login; a wrong PIN is simply asked again next time. */
  final class PromptedPin implements PinSource {
    private final Prompter prompter;

    PromptedPin(Prompter prompter) {
      this.prompter = prompter;
    }

    @Override
    public Optional<char[]> pin(String label, String hint, Session session) throws InterruptedException {
      Optional<byte[]> answer = prompter.secret(session, "Enter PIN for '" + label + "'" + hint + ": ", "PIN:");
      return answer.map(b -> {
        try {
          return chars(b);
        } finally {
          Arrays.fill(b, (byte) 0);
        }
      });
    }

    @Override
    public String describe() {
      return "the PIN prompt";
    }
  }

  /** An environment variable, which cannot change while keymux runs: refused once, refused until restart. */
  final class EnvPin implements PinSource {
    private final String variable;
    private final Map<String, String> env;
    private volatile boolean refused;

    EnvPin(String variable, Map<String, String> env) {
      this.variable = variable;
      this.env = env;
    }

    @Override
    public Optional<char[]> pin(String label, String hint, Session session) {
      if (refused) {
        throw new IllegalStateException("token '" + label + "' refused the PIN in " + describe()
            + "; it is not sent again (tokens lock after a few wrong PINs): correct it and restart keymux");
      }
      return Optional.ofNullable(env.get(variable)).filter(v -> !v.isEmpty()).map(String::toCharArray);
    }

    @Override
    public void rejected() {
      refused = true;
    }

    @Override
    public String describe() {
      return "environment variable " + variable;
    }
  }

  /** First line of a file only its owner can read; refused, it is not sent again until the file changes. */
  final class FilePin implements PinSource {
    private final Path file;
    private Object lastVersion; // guarded by this: the file as last read
    private Object refusedVersion; // guarded by this

    FilePin(Path file) {
      this.file = file;
    }

    @Override
    public synchronized Optional<char[]> pin(String label, String hint, Session session) {
      try {
        if (Files.getPosixFilePermissions(file).stream().anyMatch(p -> p != PosixFilePermission.OWNER_READ
            && p != PosixFilePermission.OWNER_WRITE)) {
          throw new IllegalStateException("PIN file " + file + " must be readable by its owner only (chmod 600)");
        }
        // Modification time, size and inode: an edit or a replacement changes at least one.
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        Object version = List.of(a.lastModifiedTime(), a.size(), String.valueOf(a.fileKey()));
        if (version.equals(refusedVersion)) {
          throw new IllegalStateException("token '" + label + "' refused the PIN in " + describe()
              + "; it is not sent again until the file changes (tokens lock after a few wrong PINs)");
        }
        lastVersion = version;
        byte[] raw = Files.readAllBytes(file);
        try {
          int n = 0;
          while (n < raw.length && raw[n] != '\n' && raw[n] != '\r') {
            n++;
          }
          return Optional.of(chars(Arrays.copyOf(raw, n)));
        } finally {
          Arrays.fill(raw, (byte) 0);
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot read PIN file " + file + ": " + e.getMessage());
      }
    }

    @Override
    public synchronized void rejected() {
      refusedVersion = lastVersion;
    }

    @Override
    public String describe() {
      return "file " + file;
    }
  }

  /**
   * The Secret Service entry for the token, else a prompt. A refused entry is skipped (the user is
   * asked instead) until its content changes, which is recognised by a keyed digest: the refused PIN
   * itself is not kept.
   */
  final class KeyringPin implements PinSource {
    private static final Logger log = LoggerFactory.getLogger(KeyringPin.class);
    private final Optional<SecretStore> store;
    private final PinSource prompted;
    private final byte[] digestKey = new byte[32];
    private byte[] lastDigest; // guarded by this: digest of the stored PIN last given, null if the user typed it
    private byte[] refusedDigest; // guarded by this

    KeyringPin(Optional<SecretStore> store, PinSource prompted) {
      this.store = store;
      this.prompted = prompted;
      new SecureRandom().nextBytes(digestKey);
    }

    @Override
    public Optional<char[]> pin(String label, String hint, Session session) throws InterruptedException {
      Optional<byte[]> stored = store.flatMap(s -> s.find(Map.of(KEYRING_ATTRIBUTE, label)));
      if (stored.isPresent()) {
        byte[] b = stored.get();
        try {
          byte[] digest = digest(b);
          synchronized (this) {
            if (!MessageDigest.isEqual(digest, refusedDigest == null ? new byte[0] : refusedDigest)) {
              lastDigest = digest;
              return Optional.of(chars(b));
            }
          }
          log.warn("token '{}' refused the PIN stored in the Secret Service ({} = {}); asking instead until the entry changes",
              label, KEYRING_ATTRIBUTE, label);
        } finally {
          Arrays.fill(b, (byte) 0);
        }
      }
      synchronized (this) {
        lastDigest = null;
      }
      return prompted.pin(label, hint, session);
    }

    @Override
    public synchronized void rejected() {
      if (lastDigest != null) {
        refusedDigest = lastDigest;
      }
    }

    @Override
    public synchronized String describe() {
      return lastDigest != null ? "the Secret Service" : prompted.describe();
    }

    private byte[] digest(byte[] secret) {
      try {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(digestKey, "HmacSHA256"));
        return mac.doFinal(secret);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** UTF-8 to chars without a String, which could not be wiped. */
  private static char[] chars(byte[] utf8) {
    CharBuffer cb = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(utf8));
    char[] out = Arrays.copyOf(cb.array(), cb.limit());
    Arrays.fill(cb.array(), '\0');
    return out;
  }
}
