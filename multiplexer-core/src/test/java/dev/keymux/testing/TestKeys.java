package dev.keymux.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Keys generated at test time with OpenSSH's ssh-keygen; nothing secret is ever committed. */
public final class TestKeys {
  private TestKeys() {}

  private static final Duration T = Duration.ofSeconds(60);

  /** Every key type the tests cover, as accepted by {@link #generate}. */
  public static List<String> allTypes() {
    return List.of("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048", "rsa-3072");
  }

  /**
   * Generates an unencrypted key; returns the private key path ({@code .pub} beside it).
   *
   * @param type ed25519, ecdsa-256|384|521 or rsa-BITS
   */
  public static Path generate(Path dir, String name, String type, String comment) {
    return generate(dir, name, type, comment, "");
  }

  public static Path generate(Path dir, String name, String type, String comment, String passphrase) {
    Path key = dir.resolve(name);
    String[] parts = type.split("-");
    String t = parts[0];
    String bits = parts.length > 1 ? parts[1] : null;
    List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/ssh-keygen", "-q", "-t", t, "-N", passphrase, "-C", comment, "-f", key.toString()));
    if (bits != null) {
      cmd.addAll(List.of("-b", bits));
    }
    try {
      Files.deleteIfExists(key);
      Files.deleteIfExists(Path.of(key + ".pub"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    Proc.run(T, Map.of(), cmd.toArray(String[]::new)).assertOk();
    return key;
  }

  /** The SHA256 fingerprint ssh-keygen prints for the key (private or .pub path). */
  public static String fingerprint(Path key) {
    Path pub = key.toString().endsWith(".pub") ? key : Path.of(key + ".pub");
    String out = Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", pub.toString()).assertOk().stdout();
    return out.trim().split("\\s+")[1];
  }

  /** The public key line ("type base64 comment") of a key (private or .pub path). */
  public static String publicLine(Path key) {
    Path pub = key.toString().endsWith(".pub") ? key : Path.of(key + ".pub");
    try {
      return Files.readString(pub).trim();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Signs {@code userPub} with {@code caKey}; returns the {@code -cert.pub} path. */
  public static Path certify(Path caKey, Path userPub, String identity, String principals, String validity) {
    Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-q", "-s", caKey.toString(), "-I", identity, "-n", principals,
        "-V", validity, userPub.toString()).assertOk();
    String p = userPub.toString();
    return Path.of(p.substring(0, p.length() - ".pub".length()) + "-cert.pub");
  }
}
