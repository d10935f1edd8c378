package dev.keymux.core.keyring;

import dev.keymux.core.concurrent.DaemonThreads;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.agent.ProviderAllowlist;
import dev.keymux.core.keys.KeyFormatException;
import dev.keymux.core.keys.SecurityKey;
import dev.keymux.core.keys.SkHelper;
import dev.keymux.core.keys.SshPrivateKey;
import dev.keymux.core.prompt.Prompter;
import dev.keymux.core.wire.AgentRequest.AddIdentity;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keys added with {@code ssh-add}, held in memory only. Honours the lifetime and confirm
 * constraints; any constraint it cannot honour makes it refuse the key (never add it
 * unconstrained). Expired keys are wiped by a timer and are never listed or used.
 */
public final class InMemoryKeyring implements Backend.ListsFromMemory {
  private static final Logger log = LoggerFactory.getLogger(InMemoryKeyring.class);

  /** {@code restriction} null: usable towards any destination. */
  /**
   * Exactly one of {@code key} (a key keymux signs with) and {@code securityKey} (a FIDO key its
   * authenticator signs with, through {@code provider}) is set.
   */
  private record Entry(SshPrivateKey key, SecurityKey securityKey, String provider, String comment, Instant expires,
      boolean confirm, DestinationRestriction restriction) {
    void close() {
      if (key != null) {
        key.close();
      } else {
        securityKey.close();
      }
    }

    boolean visibleTo(Session session) {
      return restriction == null || session == null || restriction.visibleTo(session);
    }

    boolean expired(Instant now) {
      return expires != null && !now.isBefore(expires);
    }
  }

  private final String name;
  private final KeyringDefaults defaults;
  private final Prompter prompt;
  private final Clock clock;
  private final ProviderAllowlist providers;
  private final SkHelper skHelper;
  private final Map<KeyBlob, Entry> keys = new LinkedHashMap<>();
  private final ScheduledExecutorService reaper = DaemonThreads.scheduler("keymux-keyring-expiry");

  /**
   * @param providers the FIDO middleware a client may name ({@code ssh-add -S}), the same
   *     allowlist as for PKCS#11 providers ({@code -P}), as in OpenSSH
   */
  public InMemoryKeyring(String name, KeyringDefaults defaults, Prompter prompt, Clock clock, ProviderAllowlist providers) {
    this.name = name;
    this.defaults = defaults;
    this.prompt = prompt;
    this.clock = clock;
    this.providers = providers;
    this.skHelper = SkHelper.fromEnvironment(defaults.askpassEnv(), SECURITY_KEY_TIMEOUT);
  }

  public InMemoryKeyring(String name, KeyringDefaults defaults, Prompter prompt, Clock clock) {
    this(name, defaults, prompt, clock, new ProviderAllowlist(ProviderAllowlist.OPENSSH_DEFAULT));
  }

  public InMemoryKeyring(String name, KeyringDefaults defaults, ProviderAllowlist providers) {
    this(name, defaults, defaults.prompter(), Clock.systemUTC(), providers);
  }

  public InMemoryKeyring(String name, KeyringDefaults defaults) {
    this(name, defaults, new ProviderAllowlist(ProviderAllowlist.OPENSSH_DEFAULT));
  }

  /** How long a security key may take to sign, a touch included (OpenSSH's helper has no limit). */
  static final Duration SECURITY_KEY_TIMEOUT = Duration.ofSeconds(60);
  /** The provider that means OpenSSH's built-in FIDO support (ssh-add's default). */
  static final String INTERNAL_PROVIDER = "internal";

  @Override
  public String name() {
    return name;
  }

  @Override
  public synchronized List<Identity> list(Session session) {
    purgeExpired();
    List<Identity> out = new ArrayList<>(keys.size());
    keys.forEach((blob, e) -> {
      if (e.visibleTo(session)) { // a key restricted elsewhere is not listed to this connection
        out.add(new Identity(blob, e.comment(), name));
      }
    });
    return out;
  }

  /** At once unless the key asks for confirmation or is a security key (its helper process signs). */
  @Override
  public Optional<byte[]> signAtOnce(Session session, KeyBlob blob, byte[] data, int flags) throws AgentException {
    Entry e = entry(blob);
    if (e == null || e.confirm() || e.securityKey() != null) {
      return Optional.empty();
    }
    return Optional.of(sign(session, blob, e, data, flags));
  }

  @Override
  public byte[] sign(Session session, KeyBlob blob, byte[] data, int flags) throws AgentException {
    Entry e = entry(blob);
    if (e == null) {
      throw AgentException.failed("key not held by " + name);
    }
    return sign(session, blob, e, data, flags);
  }

  private synchronized Entry entry(KeyBlob blob) {
    purgeExpired();
    return keys.get(blob);
  }

  private byte[] sign(Session session, KeyBlob blob, Entry e, byte[] data, int flags) throws AgentException {
    if (e.restriction() != null) {
      e.restriction().authorizeSignature(session, blob, data);
    }
    if (e.confirm()) {
      // Asked outside the lock: a prompt may take a minute and must not block other clients.
      if (!prompt.confirmUse(session, List.of(e.comment()), fingerprint(blob))) {
        throw AgentException.failed("use of key " + fingerprint(blob) + " was not confirmed");
      }
    }
    if (e.securityKey() != null) {
      return signWithSecurityKey(session, e, blob, data);
    }
    try {
      byte[] signature = e.key().sign(data, flags); // side by side: a key signs without state
      log.debug("{}: signed {} bytes with {} key {} as {}", session, data.length, blob.type(),
          fingerprint(blob), Fingerprints.keyType(signature));
      return signature;
    } catch (RuntimeException ex) {
      throw AgentException.failed("signing with " + blob.type() + " key failed: " + ex.getMessage(), ex);
    }
  }

  /**
   * Asks the authenticator through ssh-sk-helper: the user is told to touch it when the key wants
   * a touch, asked for its PIN when it wants one (or when the authenticator says so, once, as
   * OpenSSH does), and the PIN is wiped afterwards.
   */
  private byte[] signWithSecurityKey(Session session, Entry e, KeyBlob blob, byte[] data) throws AgentException {
    SecurityKey sk = e.securityKey();
    if (!sk.maySign(data)) {
      throw AgentException.failed("security key for web origin " + sk.application()
          + " may sign only ssh logins and SSHSIG signatures");
    }
    String what = sk.type() + " key " + fingerprint(blob) + " (" + e.comment() + ")";
    byte[] pin = null;
    try {
      if (sk.needsPin()) {
        pin = askPin(session, what);
      }
      for (boolean retried = false; ; retried = true) {
        try (Prompter.Notice touch = sk.needsTouch()
            ? prompt.notice(session, "touch your security key to sign with " + what) : () -> {}) {
          byte[] signature = skHelper.sign(sk, e.provider(), data, pin);
          log.debug("{}: signed {} bytes with security key {}", session, data.length, fingerprint(blob));
          return signature;
        } catch (SkHelper.SkException x) {
          if (x.code() == SkHelper.ERR_WRONG_PIN && pin == null && !retried) {
            pin = askPin(session, what);
            continue;
          }
          throw AgentException.failed("signing with " + what + " failed: " + x.getMessage());
        }
      }
    } catch (InterruptedException x) {
      Thread.currentThread().interrupt();
      throw AgentException.failed("signing with " + what + " was interrupted");
    } finally {
      if (pin != null) {
        java.util.Arrays.fill(pin, (byte) 0);
      }
    }
  }

  private byte[] askPin(Session session, String what) throws AgentException, InterruptedException {
    return prompt.secret(session, "Enter PIN for security " + what + ": ", "PIN:")
        .orElseThrow(() -> AgentException.failed("no PIN for " + what + "; not signed"));
  }

  @Override
  public void add(Session session, AddIdentity request) throws AgentException {
    SupportedConstraints constraints = SupportedConstraints.of(request.constraints(), defaults.defaultLifetime(),
        "the " + name + " keyring", clock);
    Duration lifetime = constraints.lifetime();
    boolean confirm = constraints.confirm();
    SshPrivateKey key = null;
    SecurityKey securityKey = null;
    String provider = null;
    KeyBlob blob;
    try {
      if (SecurityKey.isSecurityKeyType(request.keyType())) {
        provider = provider(constraints.skProvider());
        securityKey = SecurityKey.fromAgentWire(request.keyMaterial());
        blob = new KeyBlob(securityKey.publicBlob());
      } else {
        if (constraints.skProvider() != null) {
          throw AgentException.failed("key refused: sk-provider given for a " + request.keyType() + " key");
        }
        key = SshPrivateKey.fromAgentWire(request.keyMaterial());
        blob = new KeyBlob(key.publicBlob());
      }
    } catch (KeyFormatException e) {
      throw AgentException.failed("key refused: " + e.getMessage());
    }
    if (request.keyType().startsWith("ssh-dss")) {
      log.warn("added a DSA key ({}): OpenSSH 10 removed DSA support; servers of that age refuse it", request.comment());
    }
    Instant expires = lifetime.isZero() ? null : clock.instant().plus(lifetime);
    Entry old;
    synchronized (this) {
      old = keys.remove(blob); // re-adding replaces comment and constraints, as OpenSSH does
      keys.put(blob, new Entry(key, securityKey, provider, request.comment(), expires, confirm, constraints.restriction()));
    }
    if (old != null) {
      old.close();
    }
    if (expires != null) {
      reaper.schedule(this::purgeExpiredNow, lifetime.toMillis() + 10, TimeUnit.MILLISECONDS);
    }
    log.info("added {} key {} ({}){}{}{}{}", request.keyType(), fingerprint(blob), request.comment(),
        expires == null ? "" : ", lifetime " + lifetime.toSeconds() + " s", confirm ? ", confirm each use" : "",
        constraints.restriction() == null ? "" : ", " + constraints.restriction(),
        provider == null ? "" : ", FIDO provider " + provider);
  }

  /** "internal" (OpenSSH's own FIDO support), else a library the allowlist admits, by its real path. */
  private String provider(String requested) throws AgentException {
    if (requested == null || requested.equalsIgnoreCase(INTERNAL_PROVIDER)) {
      return INTERNAL_PROVIDER;
    }
    return providers.check(requested, "FIDO provider").toString();
  }

  /** What {@code keymux list} and {@code keymux policy explain} show beside the key. */
  @Override
  public synchronized String keyState(KeyBlob blob) {
    Entry e = keys.get(blob);
    if (e == null) {
      return "";
    }
    List<String> parts = new ArrayList<>();
    if (e.restriction() != null) {
      parts.add(e.restriction().toString());
    }
    if (e.confirm()) {
      parts.add("confirm each use");
    }
    if (e.securityKey() != null) {
      parts.add("security key via " + e.provider() + (e.securityKey().needsTouch() ? ", touch" : "")
          + (e.securityKey().needsPin() ? ", PIN" : ""));
    }
    if (e.expires() != null) {
      parts.add("expires in " + Math.max(0, Duration.between(clock.instant(), e.expires()).toSeconds()) + " s");
    }
    return String.join("; ", parts);
  }

  private String fingerprint(KeyBlob blob) {
    return Fingerprints.of(blob.bytes(), defaults.fingerprintHash());
  }

  @Override
  public void remove(Session session, KeyBlob blob) throws AgentException {
    Entry e;
    synchronized (this) {
      e = keys.remove(blob);
    }
    if (e == null) {
      throw AgentException.failed("key not held by " + name);
    }
    e.close();
  }

  @Override
  public void removeAll(Session session) {
    List<Entry> all;
    synchronized (this) {
      all = new ArrayList<>(keys.values());
      keys.clear();
    }
    all.forEach(Entry::close);
  }

  private void purgeExpiredNow() {
    synchronized (this) {
      purgeExpired();
    }
  }

  /** Caller holds the monitor. */
  private void purgeExpired() {
    Instant now = clock.instant();
    keys.entrySet().removeIf(en -> {
      if (en.getValue().expired(now)) {
        log.info("key {} ({}) expired and was removed", fingerprint(en.getKey()), en.getValue().comment());
        en.getValue().close();
        return true;
      }
      return false;
    });
  }

  @Override
  public void close() {
    reaper.shutdownNow();
    removeAll(null);
  }
}
