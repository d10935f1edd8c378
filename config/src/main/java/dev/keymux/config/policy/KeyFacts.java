package dev.keymux.config.policy;

import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.keys.Fingerprints;
import java.util.List;

/** A key as rules see it: fingerprint, every holder's comment, type, and the backends holding it. */
public record KeyFacts(KeyBlob blob, String sha256, List<String> comments, String type, List<String> backends) {
  public static KeyFacts of(KeyBlob blob, List<String> comments, List<String> backends) {
    return new KeyFacts(blob, Fingerprints.sha256(blob.bytes()), List.copyOf(comments),
        Fingerprints.keyType(blob.bytes()), List.copyOf(backends));
  }

  /** A key known only by its description (keymux policy explain without a running agent). */
  public static KeyFacts described(String sha256, List<String> comments, String type, List<String> backends) {
    return new KeyFacts(null, sha256, List.copyOf(comments), type, List.copyOf(backends));
  }

  boolean hasFingerprint(String fp) {
    if (fp.startsWith("MD5:")) {
      return blob != null && fp.equalsIgnoreCase(Fingerprints.md5(blob.bytes()));
    }
    return fp.equals(sha256);
  }
}
