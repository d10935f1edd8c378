package dev.keymux.backend.pkcs11;

import dev.keymux.core.prompt.Askpass;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import dev.keymux.core.prompt.SecretStore;

/** Where a token's user PIN comes from: askpass, an environment variable or a private file. */
interface PinSource {
  /** The PIN, or empty when cancelled or unavailable; the caller wipes it. */
  Optional<char[]> pin(String tokenLabel, String hint) throws InterruptedException;

  /** Attribute under which token PINs are kept in the desktop's secret store (pin = keyring). */
  String KEYRING_ATTRIBUTE = "keymux-pkcs11-token";

  static PinSource of(String spec, Map<String, String> env, Duration timeout, Optional<SecretStore> store) {
    if (spec.equals("keyring")) {
      PinSource askpass = of("askpass", env, timeout, Optional.empty());
      return (label, hint) -> {
        if (store.isPresent()) {
          Optional<byte[]> stored = store.get().find(Map.of(KEYRING_ATTRIBUTE, label));
          if (stored.isPresent()) {
            byte[] b = stored.get();
            try {
              return Optional.of(chars(b));
            } finally {
              Arrays.fill(b, (byte) 0);
            }
          }
        }
        return askpass.pin(label, hint);
      };
    }
    if (spec.startsWith("env:")) {
      String var = spec.substring(4);
      return (label, hint) -> Optional.ofNullable(env.get(var)).filter(v -> !v.isEmpty()).map(String::toCharArray);
    }
    if (spec.startsWith("file:")) {
      Path file = Path.of(spec.substring(5));
      return (label, hint) -> {
        try {
          if (Files.getPosixFilePermissions(file).stream().anyMatch(p -> p != PosixFilePermission.OWNER_READ
              && p != PosixFilePermission.OWNER_WRITE)) {
            throw new IllegalStateException("PIN file " + file + " must be readable by its owner only (chmod 600)");
          }
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
      };
    }
    Askpass askpass = new Askpass(env, timeout);
    return (label, hint) -> {
      Optional<byte[]> answer = askpass.ask("Enter PIN for '" + label + "'" + hint + ": ", null);
      return answer.map(b -> {
        try {
          return chars(b);
        } finally {
          Arrays.fill(b, (byte) 0);
        }
      });
    };
  }

  /** UTF-8 to chars without a String, which could not be wiped. */
  private static char[] chars(byte[] utf8) {
    CharBuffer cb = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(utf8));
    char[] out = Arrays.copyOf(cb.array(), cb.limit());
    Arrays.fill(cb.array(), '\0');
    return out;
  }
}
