package dev.keymux.config.policy;

import dev.keymux.core.policy.Glob;
import dev.keymux.core.agent.KeyBlob;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The user's known_hosts files, used to turn the host key a client bound its connection to
 * (session-bind@openssh.com) into the host names a rule can name. Plain, wildcard, {@code
 * [host]:port} and hashed ({@code |1|salt|hash}) entries are understood; {@code @cert-authority}
 * lines name CAs, not hosts, and {@code @revoked} keys name nothing. Files are re-read when they
 * change.
 */
public final class KnownHosts {
  private static final Logger log = LoggerFactory.getLogger(KnownHosts.class);
  /** How often at most the files are checked for changes. */
  private static final long RECHECK_NANOS = 1_000_000_000L;

  /** One line's host names for one key: plain names/patterns, and hashed names as salt and hash. */
  private record Entry(List<String> names, List<String> negated, List<byte[][]> hashed) {}

  private final List<Path> files;
  private volatile Snapshot snapshot = new Snapshot(List.of(), Map.of());
  private volatile long checkedAt = System.nanoTime() - RECHECK_NANOS;

  private record Snapshot(List<FileTime> stamps, Map<KeyBlob, List<Entry>> byKey) {}

  public KnownHosts(List<Path> files) {
    this.files = List.copyOf(files);
  }

  public List<Path> files() {
    return files;
  }

  /**
   * Whether a known_hosts entry for {@code hostKey} names a host matching {@code pattern}. A plain
   * entry matches when the rule's pattern matches one of its names (or the host inside {@code
   * [host]:port}); a hashed entry can only match a pattern without wildcards, by hashing it.
   */
  public boolean matches(KeyBlob hostKey, String pattern) {
    for (Entry e : current().byKey.getOrDefault(hostKey, List.of())) {
      if (entryMatches(e, pattern)) {
        return true;
      }
    }
    return false;
  }

  /** Host keys whose known_hosts entries name {@code host} (for explaining a decision by host name). */
  public List<KeyBlob> keysNamed(String host) {
    List<KeyBlob> out = new ArrayList<>();
    current().byKey.forEach((key, entries) -> {
      if (entries.stream().anyMatch(e -> entryMatches(e, host))) {
        out.add(key);
      }
    });
    return out;
  }

  /** What {@link #namesOf} lists for hashed entries, whose names cannot be read back. */
  public static final String HASHED = "(hashed)";

  /** Plain names known for {@code hostKey}, for explanations and the audit log ("hashed" for hashed ones). */
  public List<String> namesOf(KeyBlob hostKey) {
    List<String> out = new ArrayList<>();
    for (Entry e : current().byKey.getOrDefault(hostKey, List.of())) {
      out.addAll(e.names);
      if (!e.hashed.isEmpty() && !out.contains(HASHED)) {
        out.add(HASHED);
      }
    }
    return out;
  }

  private static boolean entryMatches(Entry e, String pattern) {
    boolean wildcard = Glob.isPattern(pattern);
    for (String neg : e.negated) {
      if (nameMatches(neg, pattern, wildcard)) {
        return false; // "!host" in the entry excludes that host from it
      }
    }
    for (String name : e.names) {
      if (nameMatches(name, pattern, wildcard)) {
        return true;
      }
    }
    if (!wildcard) {
      for (byte[][] saltHash : e.hashed) {
        if (MessageDigest.isEqual(hmacSha1(saltHash[0], pattern), saltHash[1])) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean nameMatches(String name, String pattern, boolean wildcard) {
    String bare = bareHost(name);
    if (wildcard) {
      return Glob.matches(pattern, name, true) || Glob.matches(pattern, bare, true);
    }
    if (Glob.isPattern(name)) { // the known_hosts entry itself is a pattern such as *.example.com
      return Glob.matches(name, pattern, true) || Glob.matches(bare, pattern, true);
    }
    return name.equalsIgnoreCase(pattern) || bare.equalsIgnoreCase(pattern);
  }

  /** {@code [host]:port} → host; anything else unchanged. */
  private static String bareHost(String name) {
    if (name.startsWith("[")) {
      int end = name.indexOf("]:");
      if (end > 0) {
        return name.substring(1, end);
      }
    }
    return name;
  }

  private Snapshot current() {
    long now = System.nanoTime();
    if (now - checkedAt < RECHECK_NANOS) {
      return snapshot;
    }
    synchronized (this) {
      checkedAt = now;
      List<FileTime> stamps = new ArrayList<>();
      for (Path f : files) {
        try {
          stamps.add(Files.getLastModifiedTime(f));
        } catch (IOException e) {
          stamps.add(null); // missing: fine, most people have only one or two of these files
        }
      }
      if (!Objects.equals(stamps, snapshot.stamps)) {
        snapshot = new Snapshot(stamps, read());
      }
      return snapshot;
    }
  }

  private Map<KeyBlob, List<Entry>> read() {
    Map<KeyBlob, List<Entry>> byKey = new HashMap<>();
    for (Path f : files) {
      List<String> lines;
      try {
        lines = Files.readAllLines(f, StandardCharsets.UTF_8);
      } catch (IOException e) {
        continue;
      }
      int bad = 0;
      for (String line : lines) {
        try {
          parseLine(line, byKey);
        } catch (IllegalArgumentException e) {
          bad++;
        }
      }
      if (bad > 0) {
        log.debug("{}: {} line(s) not understood, ignored", f, bad);
      }
    }
    return byKey;
  }

  static void parseLine(String raw, Map<KeyBlob, List<Entry>> byKey) {
    String line = raw.strip();
    if (line.isEmpty() || line.startsWith("#")) {
      return;
    }
    String[] f = line.split("\\s+");
    int i = 0;
    if (f[0].startsWith("@")) {
      return; // @cert-authority names a CA, @revoked a key never to trust: neither names a host
    }
    if (f.length < i + 3) {
      throw new IllegalArgumentException("too few fields");
    }
    String hosts = f[i];
    byte[] blob = Base64.getDecoder().decode(f[i + 2]);
    List<String> names = new ArrayList<>();
    List<String> negated = new ArrayList<>();
    List<byte[][]> hashed = new ArrayList<>();
    for (String h : hosts.split(",")) {
      if (h.startsWith("|1|")) {
        String[] parts = h.substring(3).split("\\|");
        if (parts.length != 2) {
          throw new IllegalArgumentException("bad hashed host");
        }
        hashed.add(new byte[][] {Base64.getDecoder().decode(parts[0]), Base64.getDecoder().decode(parts[1])});
      } else if (h.startsWith("!")) {
        negated.add(h.substring(1));
      } else if (!h.isEmpty()) {
        names.add(h);
      }
    }
    byKey.computeIfAbsent(new KeyBlob(blob), k -> new ArrayList<>()).add(new Entry(names, negated, hashed));
  }

  /** OpenSSH's HashKnownHosts: HMAC-SHA1 keyed with the salt over the host name as ssh looks it up. */
  private static byte[] hmacSha1(byte[] salt, String host) {
    try {
      Mac mac = Mac.getInstance("HmacSHA1");
      mac.init(new SecretKeySpec(salt, "HmacSHA1"));
      return mac.doFinal(host.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA1 is part of every Java platform", e);
    }
  }
}
