package dev.keymux.backend.file;

import dev.keymux.core.keys.SshPrivateKey;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Private keys handed over as text, the way CI systems keep secrets: one or more unencrypted
 * OpenSSH or PEM key blocks concatenated, each optionally preceded by a line
 * {@code # repo: git@github.com:org/repo} naming the one repository that key is for. Parsing is
 * {@link KeyFiles}'; this class only splits the text into blocks and reads the tags.
 *
 * <p>Key material never appears in an error message; every copy of a block made here is wiped.
 */
public final class PreloadedKeys {
  private PreloadedKeys() {}

  /** The tag line that gives the next key block its repository. */
  public static final String REPO_TAG = "# repo:";

  /** One key; {@code repo} is the tagged repository ("" = for every repository). */
  public record Key(SshPrivateKey key, String comment, String repo) {}

  /**
   * Every key in {@code text}, in order. Throws IllegalArgumentException (naming {@code source}
   * and the block's position, never its content) for text without a key, an unterminated or
   * unreadable block, or a key that needs a passphrase. Keys already parsed are closed then.
   */
  public static List<Key> parse(byte[] text, String source) {
    List<Key> keys = new ArrayList<>();
    try {
      String repo = "";
      int i = 0;
      while (i < text.length) {
        int eol = lineEnd(text, i);
        String line = ascii(text, i, eol).strip();
        if (line.startsWith(REPO_TAG)) {
          repo = line.substring(REPO_TAG.length()).strip();
          i = next(text, eol);
        } else if (line.startsWith("-----BEGIN ") && line.endsWith(" PRIVATE KEY-----")) {
          int n = keys.size() + 1;
          String end = "-----END " + line.substring("-----BEGIN ".length());
          int j = next(text, eol);
          int blockEnd = -1;
          while (j < text.length) {
            int e = lineEnd(text, j);
            if (ascii(text, j, e).strip().equals(end)) {
              blockEnd = e;
              break;
            }
            j = next(text, e);
          }
          if (blockEnd < 0) {
            throw new IllegalArgumentException(source + ": key " + n + " has no '" + end + "' line");
          }
          byte[] block = Arrays.copyOfRange(text, i, blockEnd);
          try {
            keys.add(new Key(read(block, source, n), repo.isEmpty() ? source + " key " + n : repo, repo));
          } finally {
            Arrays.fill(block, (byte) 0);
          }
          repo = "";
          i = next(text, blockEnd);
        } else if (line.isEmpty() || line.startsWith("#")) {
          i = next(text, eol);
        } else {
          throw new IllegalArgumentException(source + ": line outside a key block (only '" + REPO_TAG
              + " ...' lines, comments and -----BEGIN ... PRIVATE KEY----- blocks may appear)");
        }
      }
      if (keys.isEmpty()) {
        throw new IllegalArgumentException(source + ": no private key (-----BEGIN ... PRIVATE KEY-----) found");
      }
      return List.copyOf(keys);
    } catch (RuntimeException e) {
      keys.forEach(k -> k.key().close());
      throw e;
    }
  }

  private static SshPrivateKey read(byte[] block, String source, int n) {
    try {
      KeyFiles.Inspection inspection = KeyFiles.inspect(block);
      if (inspection.encrypted()) {
        throw new IllegalArgumentException(source + ": key " + n + " (" + inspection.format()
            + ") is protected by a passphrase; keymux cannot ask for one here: give it unencrypted"
            + " (ssh-keygen -p -N '' -f FILE) or use a key without a passphrase");
      }
      Optional.ofNullable(inspection.publicBlob()).ifPresent(blob -> {
        try {
          KeyFiles.checkPublicKey(blob);
        } catch (KeyFiles.KeyFileException e) {
          throw new IllegalArgumentException(source + ": key " + n + ": " + e.getMessage());
        }
      });
      return KeyFiles.decrypt(block, null);
    } catch (KeyFiles.KeyFileException e) {
      throw new IllegalArgumentException(source + ": key " + n + ": " + e.getMessage());
    } catch (KeyFiles.WrongPassphraseException e) {
      throw new IllegalArgumentException(source + ": key " + n + " is protected by a passphrase");
    }
  }

  private static int lineEnd(byte[] text, int from) {
    int i = from;
    while (i < text.length && text[i] != '\n') {
      i++;
    }
    return i;
  }

  private static int next(byte[] text, int eol) {
    return Math.min(text.length, eol + 1);
  }

  /**
   * One line as a String, for markers, tags and comments only: so that no key material becomes
   * an unwipeable String, a line starting with anything but '-' or '#' (a base64 body line) is
   * never converted and reads as "?".
   */
  private static String ascii(byte[] text, int from, int to) {
    int first = from;
    while (first < to && Character.isWhitespace(text[first])) {
      first++;
    }
    if (first < to && text[first] != '-' && text[first] != '#') {
      return "?"; // a body line (or stray text): never turned into a String
    }
    return new String(text, from, to - from, StandardCharsets.US_ASCII);
  }
}
