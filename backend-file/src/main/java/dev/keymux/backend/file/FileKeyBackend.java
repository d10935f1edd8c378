package dev.keymux.backend.file;

import dev.keymux.core.concurrent.DaemonThreads;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Health;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keys.CertificateInfo;
import dev.keymux.core.keys.KeyFormatException;
import dev.keymux.core.keys.SshPrivateKey;
import dev.keymux.core.keys.SshSignatures;
import dev.keymux.core.server.Posix;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.PosixFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Private key files on disk. Keys are listed from their public halves at once (NAME.pub, or the
 * clear public section of openssh-key-v1), and decrypted only when a signature is asked for —
 * with the passphrase from a {@link PassphraseSource} — then kept for {@code unlock-for}.
 * Every unusable file is skipped with one log line naming it and the reason; the rest keep
 * working. With {@code watch} on, files added, changed or removed are picked up without restart.
 * The offers are kept in memory (the watcher and rescans update them), so a list answers at once.
 */
final class FileKeyBackend implements Backend.ListsFromMemory {
  private static final Logger log = LoggerFactory.getLogger(FileKeyBackend.class);
  private static final Duration DEBOUNCE = Duration.ofMillis(250);

  /** A decrypted key in the forms it signs as (the key, its certificates); immutable once built. */
  private record Unlocked(Path path, Map<KeyBlob, SshPrivateKey> keys, Map<KeyBlob, String> unusable, Instant until) {
    boolean current(Instant now) {
      return until == null || now.isBefore(until);
    }

    /** Signs as {@code blob}: the key, or one of its certificates the key could be joined with. */
    byte[] sign(KeyBlob blob, byte[] data, int flags) throws AgentException {
      SshPrivateKey key = keys.get(blob);
      if (key == null) {
        throw AgentException.failed("certificate " + certPath(path) + " cannot be used with " + path + ": "
            + unusable.getOrDefault(blob, "not one of its forms"));
      }
      return key.sign(data, flags);
    }

    void close() {
      keys.values().forEach(SshPrivateKey::close);
    }
  }

  /**
   * A NAME-cert.pub offered beside its key while its validity window holds, checked at every
   * listing because certificates expire while keymux runs.
   */
  private static final class Cert {
    final Path path;
    final KeyBlob blob;
    final long validAfter; // epoch seconds
    final long validBefore;
    /** Why it was last reported as not offered, "" if offered; moves (and is logged) once per change. */
    final AtomicReference<String> reported;

    Cert(Path path, KeyBlob blob, CertificateInfo info, String reported) {
      this.path = path;
      this.blob = blob;
      this.validAfter = info.validAfter();
      this.validBefore = info.validBefore();
      this.reported = new AtomicReference<>(reported);
    }

    /** Why it is not offered at {@code epochSecond}, or "" if it is. */
    String invalidReason(long epochSecond) {
      if (epochSecond >= validBefore) {
        return "the certificate has expired";
      }
      return epochSecond < validAfter ? "the certificate is not valid yet" : "";
    }
  }

  /** What list() offers: a key, or a certificate while it is valid. */
  private record Offer(Identity identity, Cert cert) {}

  /**
   * One key file as last scanned, plus its decrypted form while unlocked. {@link #unlocking} is
   * held for a whole unlock, passphrase prompt included, so one key is decrypted once and its
   * other signers wait for that; the monitor guards only short steps (publishing, signing,
   * dropping), so listing, lock and {@code ssh-add -D} never wait for a prompt. Lock order:
   * {@code unlocking}, then the backend's monitor, then this monitor.
   */
  private static final class FileKey {
    final Path path;
    final long modified;
    final long size;
    final KeyBlob key;
    final String comment;
    final boolean encrypted;
    final List<Cert> certificates;
    final long pubModified; // -1 when there is no NAME.pub
    final long certModified; // -1 when there is no NAME-cert.pub
    final ReentrantLock unlocking = new ReentrantLock();
    private volatile Unlocked unlocked; // written under the monitor, read without it
    private boolean retired; // guarded by the monitor: a rescan replaced or removed this entry
    /** Set when decrypting showed the file unusable (a .pub of another key): not offered until it changes. */
    private String bad; // guarded by the backend's monitor

    FileKey(Path path, long modified, long size, KeyBlob key, String comment, boolean encrypted, List<Cert> certs,
        long pubModified, long certModified) {
      this.pubModified = pubModified;
      this.certModified = certModified;
      this.path = path;
      this.modified = modified;
      this.size = size;
      this.key = key;
      this.comment = comment;
      this.encrypted = encrypted;
      this.certificates = certs;
    }

    synchronized void drop() {
      if (unlocked != null) {
        unlocked.close();
        unlocked = null;
      }
    }

    /** No longer listed: drops its key, and no unlock may store one here again (lock and -D could not reach it). */
    synchronized void retire() {
      retired = true;
      drop();
    }
  }

  private final String name;
  private final FileBackendSettings settings;
  private final PassphraseSource passphrases;
  private final Clock clock;
  private final Path home;
  private final Map<Path, FileKey> files = new LinkedHashMap<>(); // guarded by this
  private final Map<Path, String> lastSkip = new HashMap<>(); // guarded by this: log each problem once
  private volatile Map<KeyBlob, FileKey> byBlob = Map.of();
  private volatile List<FileKey> entries = List.of(); // every scanned file, for dropping all
  /** Counts locks and {@code ssh-add -D}: an unlock that began before one must not keep its key. */
  private final AtomicLong drops = new AtomicLong();
  private volatile List<Offer> offers = List.of();
  private final ScheduledExecutorService timers = DaemonThreads.scheduler("keymux-file-timers");
  private ScheduledFuture<?> pendingRescan;
  private WatchService watcher;
  private final Map<Path, WatchKey> watched = new HashMap<>(); // guarded by this
  private final Map<Path, String> watchProblems = new HashMap<>(); // guarded by this: log each once
  private Thread watchThread;
  private final SecurityKeyFiles securityKeys;

  FileKeyBackend(String name, FileBackendSettings settings, PassphraseSource passphrases, Clock clock, Path home) {
    this(name, settings, passphrases, clock, home, SecurityKeyFiles.from(settings.skProvider(), System.getenv(), null));
  }

  FileKeyBackend(String name, FileBackendSettings settings, PassphraseSource passphrases, Clock clock, Path home,
      SecurityKeyFiles securityKeys) {
    this.name = name;
    this.settings = settings;
    this.passphrases = passphrases;
    this.clock = clock;
    this.home = home;
    this.securityKeys = securityKeys;
  }

  /** Reads the files and, if configured, starts watching their directories. */
  void start() {
    rescan();
    if (settings.watch()) {
      startWatching();
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public List<Identity> list(Session session) {
    long now = clock.instant().getEpochSecond();
    List<Identity> out = new ArrayList<>();
    for (Offer o : offers) {
      if (o.cert() == null || offered(o.cert(), now)) {
        out.add(o.identity());
      }
    }
    return out;
  }

  /** Whether a certificate is valid now; logs each change of that once. */
  private boolean offered(Cert c, long now) {
    String reason = c.invalidReason(now);
    String before = c.reported.getAndSet(reason);
    if (!reason.equals(before)) {
      if (reason.isEmpty()) {
        log.info("backend {}: offering certificate {} (now valid)", name, c.path);
      } else {
        log.warn("backend {}: not offering certificate {}: {}", name, c.path, reason);
      }
    }
    return reason.isEmpty();
  }

  @Override
  public Health health() {
    return Health.ok();
  }

  // ------------------------------------------------------------------ scanning

  /** The files the configured paths name now, in configured order. */
  private List<Path> candidates() {
    Set<Path> out = new LinkedHashSet<>();
    for (String pattern : settings.paths()) {
      Path p = expand(pattern);
      String last = p.getFileName() == null ? "" : p.getFileName().toString();
      if (!last.matches(".*[*?\\[{].*")) {
        out.add(p);
        continue;
      }
      Path dir = p.getParent();
      if (dir == null || !Files.isDirectory(dir)) {
        continue;
      }
      List<Path> matches = new ArrayList<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, last)) {
        ds.forEach(matches::add);
      } catch (IOException e) {
        log.warn("backend {}: cannot list {}: {}", name, dir, e.getMessage());
      }
      matches.sort(null);
      for (Path m : matches) {
        String n = m.getFileName().toString();
        if (!n.endsWith(".pub") && Files.isRegularFile(m)) {
          out.add(m);
        }
      }
    }
    return new ArrayList<>(out);
  }

  private Path expand(String pattern) {
    if (pattern.equals("~") || pattern.startsWith("~/")) {
      return home.resolve(pattern.substring(Math.min(2, pattern.length())));
    }
    return Path.of(pattern).toAbsolutePath();
  }

  /** Re-reads what changed; unchanged files keep their unlocked state. */
  synchronized void rescan() {
    Map<Path, FileKey> next = new LinkedHashMap<>();
    for (Path path : candidates()) {
      FileKey old = files.get(path);
      try {
        PosixFileAttributes a = Files.readAttributes(path, PosixFileAttributes.class);
        long modified = a.lastModifiedTime().toMillis();
        if (old != null && old.modified == modified && old.size == a.size() && companionsUnchanged(old)) {
          next.put(path, old);
          continue;
        }
        next.put(path, load(path, a, old));
        lastSkip.remove(path);
        if (old == null) {
          log.info("backend {}: offering {}", name, path);
        } else {
          log.info("backend {}: {} changed on disk; re-read it", name, path);
        }
      } catch (Skip s) {
        if (!s.getMessage().equals(lastSkip.get(path))) {
          log.warn("backend {}: skipping {}: {}", name, path, s.getMessage());
          lastSkip.put(path, s.getMessage());
        }
      } catch (IOException e) {
        String reason = "cannot read it (" + e.getMessage() + ")";
        if (!reason.equals(lastSkip.get(path))) {
          log.warn("backend {}: skipping {}: {}", name, path, reason);
          lastSkip.put(path, reason);
        }
      }
      if (old != null && next.get(path) != old) {
        old.retire(); // changed or gone bad on disk: its decrypted copy is stale
      }
    }
    for (Map.Entry<Path, FileKey> e : files.entrySet()) {
      if (!next.containsKey(e.getKey())) {
        e.getValue().retire();
        if (lastSkip.get(e.getKey()) == null) {
          log.info("backend {}: {} is gone; no longer offered", name, e.getKey());
        }
      }
    }
    lastSkip.keySet().retainAll(new LinkedHashSet<>(candidates()));
    files.clear();
    files.putAll(next);
    entries = List.copyOf(files.values());
    publish();
  }

  /** Rebuilds what list() and sign() see from {@link #files}. Caller holds this. */
  private void publish() {
    Map<KeyBlob, FileKey> blobs = new LinkedHashMap<>();
    List<Offer> list = new ArrayList<>();
    long now = clock.instant().getEpochSecond();
    for (FileKey fk : files.values()) {
      if (fk.bad != null) {
        continue;
      }
      if (blobs.putIfAbsent(fk.key, fk) == null) {
        list.add(new Offer(new Identity(fk.key, fk.comment, name), null));
      }
      for (Cert cert : fk.certificates) {
        if (blobs.putIfAbsent(cert.blob, fk) == null) {
          list.add(new Offer(new Identity(cert.blob, fk.comment, name), cert));
          offered(cert, now); // report an expired one now rather than at the next listing
        }
      }
    }
    byBlob = Map.copyOf(blobs);
    offers = List.copyOf(list);
  }

  /** NAME.pub (public half, comment) and NAME-cert.pub are part of what was read for a key. */
  private static boolean companionsUnchanged(FileKey old) {
    return old.pubModified == modifiedOrMinusOne(pubPath(old.path)) && old.certModified == modifiedOrMinusOne(certPath(old.path));
  }

  private static long modifiedOrMinusOne(Path p) {
    try {
      return Files.getLastModifiedTime(p).toMillis();
    } catch (IOException e) {
      return -1;
    }
  }

  private static Path pubPath(Path key) {
    return key.resolveSibling(key.getFileName() + ".pub");
  }

  private static Path certPath(Path key) {
    return key.resolveSibling(key.getFileName() + "-cert.pub");
  }

  /** A file that is skipped, with the reason for the log. */
  private static final class Skip extends Exception {
    Skip(String message) {
      super(message);
    }
  }

  private FileKey load(Path path, PosixFileAttributes a, FileKey old) throws Skip, IOException {
    // OpenSSH's rule (sshkey_perm_ok in authfile.c): a key file of ours that group or others may
    // use in any way is refused, with OpenSSH's words; a file owned by someone else is not checked.
    Map<String, Object> unix = Files.readAttributes(path, "unix:uid,mode");
    int mode = (Integer) unix.get("mode") & 0777;
    if ((Integer) unix.get("uid") == Posix.currentUid() && (mode & 077) != 0) {
      throw new Skip(String.format("Permissions 0%03o for '%s' are too open. It is required that your private key files "
          + "are NOT accessible by others. This private key will be ignored.", mode, path));
    }
    byte[] bytes = Files.readAllBytes(path);
    KeyFiles.Inspection in;
    try {
      in = KeyFiles.inspect(bytes);
    } catch (KeyFiles.KeyFileException e) {
      throw new Skip(e.getMessage());
    } finally {
      Arrays.fill(bytes, (byte) 0);
    }
    Path pubPath = pubPath(path);
    long pubModified = modifiedOrMinusOne(pubPath); // before reading: an edit while reading is seen at the next rescan
    byte[] pubBlob = null;
    String comment = path.toString();
    if (Files.isRegularFile(pubPath)) {
      String[] parts = Files.readString(pubPath).trim().split("\\s+", 3);
      try {
        pubBlob = Base64.getDecoder().decode(parts.length > 1 ? parts[1] : "");
      } catch (IllegalArgumentException e) {
        throw new Skip(pubPath.getFileName() + " is not a public key line");
      }
      if (parts.length > 2) {
        comment = parts[2];
      }
    }
    if (in.publicBlob() != null && pubBlob != null && !Arrays.equals(in.publicBlob(), pubBlob)) {
      throw new Skip(pubMismatch(path));
    }
    byte[] blob = in.publicBlob() != null ? in.publicBlob() : pubBlob;
    if (blob == null) {
      throw new Skip("encrypted " + in.format() + " key without a public half; create one with: ssh-keygen -y -f " + path
          + " > " + pubPath);
    }
    try {
      KeyFiles.checkPublicKey(blob);
    } catch (KeyFiles.KeyFileException e) {
      throw new Skip(e.getMessage());
    }
    long certModified = modifiedOrMinusOne(certPath(path));
    return new FileKey(path, a.lastModifiedTime().toMillis(), a.size(), new KeyBlob(blob), comment, in.encrypted(),
        certificates(path, blob, old), pubModified, certModified);
  }

  /** The NAME-cert.pub of a key, valid or not (validity is checked when listing); empty if none or unusable. */
  private static String pubMismatch(Path key) {
    return key.getFileName() + ".pub does not match the private key (regenerate it: ssh-keygen -y -f " + key + " > " + key + ".pub)";
  }

  /**
   * The .pub of an encrypted PEM or PKCS#8 key can only be checked once the key is decrypted. If
   * it is wrong, the file is skipped like any bad file — one log line, not offered, not asked
   * for again — until it changes on disk.
   */
  private synchronized void skipAfterDecrypting(FileKey fk, String reason) {
    if (files.get(fk.path) != fk || fk.bad != null) {
      return; // already replaced by a rescan, or already skipped
    }
    fk.bad = reason;
    if (!reason.equals(lastSkip.get(fk.path))) {
      log.warn("backend {}: skipping {}: {}", name, fk.path, reason);
      lastSkip.put(fk.path, reason);
    }
    publish();
  }

  private List<Cert> certificates(Path key, byte[] keyBlob, FileKey old) throws IOException {
    Path certPath = certPath(key);
    if (!Files.isRegularFile(certPath)) {
      return List.of();
    }
    String reason;
    try {
      String[] parts = Files.readString(certPath).trim().split("\\s+");
      byte[] cert = Base64.getDecoder().decode(parts.length > 1 ? parts[1] : "");
      CertificateInfo info = CertificateInfo.parse(cert);
      if (!Arrays.equals(SshSignatures.publicBlobOf(cert), keyBlob)) {
        reason = "it certifies a different key";
      } else {
        lastSkip.remove(certPath);
        KeyBlob blob = new KeyBlob(cert);
        // A re-read key keeps what was reported about its unchanged certificate, so it is not logged again.
        String reported = old == null ? "" : old.certificates.stream().filter(c -> c.blob.equals(blob))
            .map(c -> c.reported.get()).findFirst().orElse("");
        return List.of(new Cert(certPath, blob, info, reported));
      }
    } catch (KeyFormatException | IllegalArgumentException e) {
      reason = "not a readable certificate (" + e.getMessage() + ")";
    }
    if (!reason.equals(lastSkip.get(certPath))) {
      log.warn("backend {}: not offering certificate {}: {}", name, certPath, reason);
      lastSkip.put(certPath, reason);
    }
    return List.of();
  }

  // ------------------------------------------------------------------ signing

  /** How often a signer retries when rescans keep replacing the key's entry under it. */
  private static final int MAX_STALE_RETRIES = 3;

  @Override
  public byte[] sign(Session session, KeyBlob blob, byte[] data, int flags) throws AgentException {
    long dropsBefore = drops.get(); // a lock or ssh-add -D from now on wins over this request's unlock
    for (int attempt = 0; ; attempt++) {
      FileKey fk = byBlob.get(blob);
      if (fk == null) {
        throw AgentException.failed("key not held by " + name);
      }
      requireValidCertificate(fk, blob);
      if (dev.keymux.core.keys.SecurityKey.isSecurityKeyType(blob.type())) {
        return signWithSecurityKey(fk, blob, data, session);
      }
      try {
        // One key, one unlock: concurrent signers wait for the first prompt instead of each asking.
        fk.unlocking.lockInterruptibly();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw AgentException.failed("interrupted while waiting for " + fk.path + " to be unlocked");
      }
      try {
        if (byBlob.get(blob) != fk) {
          // A rescan replaced the entry while we waited: a key unlocked into this one would be out of reach of lock and -D.
          if (attempt < MAX_STALE_RETRIES) {
            continue;
          }
          throw AgentException.failed(fk.path + " keeps changing on disk; try again");
        }
        return sign(fk, blob, data, flags, dropsBefore, session);
      } finally {
        fk.unlocking.unlock();
      }
    }
  }

  /**
   * At once when the key is unlocked in memory; a key still to be read, decrypted or touched goes
   * to {@link #sign}. Signatures with an unlocked key run side by side (a key signs without
   * state): only unlocking is one at a time. A lock or removal that closes the key meanwhile
   * sends the request to {@link #sign}, which asks again.
   */
  @Override
  public Optional<byte[]> signAtOnce(Session session, KeyBlob blob, byte[] data, int flags) throws AgentException {
    FileKey fk = byBlob.get(blob);
    if (fk == null || dev.keymux.core.keys.SecurityKey.isSecurityKeyType(blob.type())) {
      return Optional.empty();
    }
    requireValidCertificate(fk, blob);
    Unlocked u;
    synchronized (fk) {
      u = fk.unlocked;
    }
    if (u == null || !u.current(clock.instant())) {
      return Optional.empty();
    }
    try {
      return Optional.of(u.sign(blob, data, flags));
    } catch (IllegalStateException closedMeanwhile) {
      return Optional.empty();
    }
  }

  private void requireValidCertificate(FileKey fk, KeyBlob blob) throws AgentException {
    for (Cert c : fk.certificates) {
      if (c.blob.equals(blob) && !offered(c, clock.instant().getEpochSecond())) {
        throw AgentException.failed("certificate " + c.path + " is not valid now (" + c.reported.get() + ")");
      }
    }
  }

  /** A security-key file: nothing to decrypt or keep; its authenticator signs each time. */
  private byte[] signWithSecurityKey(FileKey fk, KeyBlob blob, byte[] data, Session session) throws AgentException {
    byte[] file;
    try {
      file = Files.readAllBytes(fk.path);
    } catch (IOException e) {
      throw AgentException.failed("cannot read " + fk.path + ": " + e.getMessage());
    }
    try {
      return securityKeys.sign(session, file, blob, fk.comment, data);
    } finally {
      Arrays.fill(file, (byte) 0);
    }
  }

  /** Caller holds fk.unlocking. {@code session}: whom a passphrase prompt is for. */
  private byte[] sign(FileKey fk, KeyBlob blob, byte[] data, int flags, long dropsBefore, Session session)
      throws AgentException {
    synchronized (fk) {
      Unlocked u = fk.unlocked;
      if (u != null && u.current(clock.instant())) {
        return u.sign(blob, data, flags);
      }
    }
    if (drops.get() != dropsBefore) {
      throw lockedMeanwhile(fk);
    }
    Unlocked fresh = decrypt(fk, session); // may prompt for minutes: no monitor held
    synchronized (fk) {
      if (drops.get() != dropsBefore) {
        fresh.close();
        throw lockedMeanwhile(fk);
      }
      // A rescan may have retired the entry during the prompt: this request is still served, the key not kept.
      boolean keep = !fk.retired && (fresh.until() != null || settings.forever());
      try {
        return fresh.sign(blob, data, flags);
      } finally {
        if (keep) {
          fk.drop();
          fk.unlocked = fresh;
          if (fresh.until() != null) {
            timers.schedule(() -> expire(fk, fresh), settings.unlockFor().toMillis() + 10, TimeUnit.MILLISECONDS);
          }
        } else {
          fresh.close(); // unlock-for = 0 (decrypt per use), or the entry is gone
        }
      }
    }
  }

  private AgentException lockedMeanwhile(FileKey fk) {
    return AgentException.failed("keymux was locked or its keys removed while " + fk.path + " was being unlocked; it stays locked");
  }

  /** Reads and decrypts the key file, asking for its passphrase if needed. Caller holds fk.unlocking. */
  private Unlocked decrypt(FileKey fk, Session session) throws AgentException {
    byte[] file;
    try {
      file = Files.readAllBytes(fk.path);
    } catch (IOException e) {
      throw AgentException.failed("cannot read " + fk.path + ": " + e.getMessage());
    }
    SshPrivateKey key = null;
    try {
      if (!fk.encrypted) {
        key = KeyFiles.decrypt(file, null);
      } else {
        Optional<String> unavailable = passphrases.unavailableReason(session);
        if (unavailable.isPresent()) {
          throw AgentException.failed(fk.path + " needs its passphrase, but " + unavailable.get());
        }
        for (int attempt = 1; key == null; attempt++) {
          if (attempt > settings.passphraseAttempts()) {
            throw AgentException.failed("wrong passphrase for " + fk.path + " " + settings.passphraseAttempts() + " times");
          }
          Optional<byte[]> pass = passphrases.passphrase(fk.path, attempt, session);
          if (pass.isEmpty()) {
            throw AgentException.failed("passphrase for " + fk.path + " was not given (prompt cancelled or failed)");
          }
          byte[] p = pass.get();
          try {
            key = KeyFiles.decrypt(file, p);
            passphrases.accepted(fk.path, p, session);
          } catch (KeyFiles.WrongPassphraseException e) {
            passphrases.rejected(fk.path);
            log.info("backend {}: wrong passphrase for {} (attempt {})", name, fk.path, attempt);
          } finally {
            Arrays.fill(p, (byte) 0);
          }
        }
      }
    } catch (KeyFiles.KeyFileException | KeyFiles.WrongPassphraseException e) {
      throw AgentException.failed("cannot use " + fk.path + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw AgentException.failed("interrupted while asking for a passphrase");
    } finally {
      Arrays.fill(file, (byte) 0);
    }
    if (!Arrays.equals(key.publicBlob(), fk.key.bytes())) {
      key.close();
      String reason = pubMismatch(fk.path);
      skipAfterDecrypting(fk, reason);
      throw AgentException.failed("cannot use " + fk.path + ": " + reason);
    }
    Map<KeyBlob, SshPrivateKey> keys = new HashMap<>();
    Map<KeyBlob, String> unusable = new HashMap<>();
    keys.put(fk.key, key);
    for (Cert cert : fk.certificates) {
      try {
        keys.put(cert.blob, key.withCertificate(cert.blob.bytes()));
      } catch (KeyFormatException e) {
        // load() checked the certificate against the same public key, so this is not expected;
        // should it happen, signing as that certificate fails with this reason.
        unusable.put(cert.blob, e.getMessage());
        log.warn("backend {}: certificate {} unusable: {}", name, cert.path, e.getMessage());
      }
    }
    Instant until = settings.forever() || settings.unlockFor().isZero() ? null : clock.instant().plus(settings.unlockFor());
    if (fk.encrypted) {
      log.info("backend {}: unlocked {}{}", name, fk.path, until == null ? "" : " for " + settings.unlockFor().toMinutes() + " min");
    }
    return new Unlocked(fk.path, Map.copyOf(keys), Map.copyOf(unusable), until);
  }

  private void expire(FileKey fk, Unlocked u) {
    synchronized (fk) {
      if (fk.unlocked == u && !u.current(clock.instant())) {
        fk.drop();
        log.info("backend {}: {} locked again (unlock-for elapsed)", name, fk.path);
      }
    }
  }

  /** For `keymux list`: locked, unlocked (until when), or needs no passphrase. Never waits for a prompt. */
  @Override
  public String keyState(KeyBlob blob) {
    FileKey fk = byBlob.get(blob);
    if (fk == null) {
      return "";
    }
    if (!fk.encrypted) {
      return "no passphrase";
    }
    Unlocked u = fk.unlocked;
    Instant now = clock.instant();
    if (u == null || !u.current(now)) {
      return "locked";
    }
    if (u.until() == null) {
      return "unlocked";
    }
    Duration left = Duration.between(now, u.until());
    return "unlocked, locks in " + (left.toHours() > 0 ? left.toHours() + "h" : "") + left.toMinutesPart() + "m";
  }

  // ------------------------------------------------------------------ lifecycle

  @Override
  public void remove(Session session, KeyBlob key) throws AgentException {
    throw AgentException.failed("keys of backend " + name + " come from files; remove the file or change its paths setting");
  }

  /** {@code ssh-add -D}: forget every decrypted key; the files stay offered. */
  @Override
  public void removeAll(Session session) {
    dropAll();
  }

  @Override
  public void onLock() {
    dropAll();
  }

  /** Not synchronized on the backend: a lock never waits for a rescan, let alone a prompt. */
  private void dropAll() {
    drops.incrementAndGet();
    entries.forEach(FileKey::drop);
  }

  private void startWatching() {
    try {
      watcher = FileSystems.getDefault().newWatchService();
    } catch (IOException e) {
      log.warn("backend {}: cannot watch files: {}; changes need a restart", name, e.getMessage());
      return;
    }
    updateWatches();
    watchThread = new Thread(this::watchLoop, "keymux-file-watch-" + name);
    watchThread.setDaemon(true);
    watchThread.start();
  }

  /**
   * Watches the directory of each configured path — or, while it does not exist (no ~/.ssh yet),
   * its nearest existing ancestor, so that it is seen when it appears and then watched itself.
   * Called at start and after every change seen, since directories come and go.
   */
  private synchronized void updateWatches() {
    Map<Path, Path> wanted = new LinkedHashMap<>(); // directory to watch -> the configured directory it stands for
    for (String pattern : settings.paths()) {
      Path configured = expand(pattern).getParent();
      Path dir = configured;
      while (dir != null && !Files.isDirectory(dir)) {
        dir = dir.getParent();
      }
      if (dir != null) {
        wanted.putIfAbsent(dir, configured);
      }
    }
    watched.entrySet().removeIf(e -> {
      boolean stale = !wanted.containsKey(e.getKey()) || !e.getValue().isValid();
      if (stale) {
        e.getValue().cancel();
      }
      return stale;
    });
    for (Map.Entry<Path, Path> w : wanted.entrySet()) {
      Path dir = w.getKey();
      if (watched.containsKey(dir)) {
        continue;
      }
      try {
        watched.put(dir, dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
            StandardWatchEventKinds.ENTRY_MODIFY));
        if (!dir.equals(w.getValue())) {
          log.info("backend {}: {} does not exist; watching {} for it to appear", name, w.getValue(), dir);
        }
      } catch (IOException | ClosedWatchServiceException e) {
        if (!String.valueOf(e.getMessage()).equals(watchProblems.put(dir, String.valueOf(e.getMessage())))) {
          log.warn("backend {}: cannot watch {}: {}; changes there need a restart", name, dir, e.getMessage());
        }
      }
    }
  }

  private void watchLoop() {
    try {
      while (true) {
        WatchKey key = watcher.take();
        key.pollEvents();
        key.reset(); // false when the directory is gone: updateWatches then watches its parent
        updateWatches();
        scheduleRescan();
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // closing
    }
  }

  /** Debounce: editors and ssh-keygen touch several files in a burst; rescan once after it. */
  private synchronized void scheduleRescan() {
    if (pendingRescan != null) {
      pendingRescan.cancel(false);
    }
    pendingRescan = timers.schedule(() -> {
      try {
        rescan();
      } catch (RuntimeException e) {
        log.error("backend {}: rescan failed", name, e);
      }
    }, DEBOUNCE.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    try {
      if (watcher != null) {
        watcher.close();
      }
    } catch (IOException ignored) {
      // closing anyway
    }
    timers.shutdownNow();
    dropAll();
  }

}
