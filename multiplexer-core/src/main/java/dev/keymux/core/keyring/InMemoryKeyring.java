package dev.keymux.core.keyring;

import dev.keymux.core.concurrent.DaemonThreads;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.keys.KeyFormatException;
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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keys added with {@code ssh-add}, held in memory only. Honours the lifetime and confirm
 * constraints; any constraint it cannot honour makes it refuse the key (never add it
 * unconstrained). Expired keys are wiped by a timer and are never listed or used.
 */
public final class InMemoryKeyring implements Backend {
  private static final Logger log = LoggerFactory.getLogger(InMemoryKeyring.class);

  /** {@code restriction} null: usable towards any destination. */
  private record Entry(SshPrivateKey key, String comment, Instant expires, boolean confirm,
      DestinationRestriction restriction) {
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
  private final Map<KeyBlob, Entry> keys = new LinkedHashMap<>();
  private final ScheduledExecutorService reaper = DaemonThreads.scheduler("keymux-keyring-expiry");

  public InMemoryKeyring(String name, KeyringDefaults defaults, Prompter prompt, Clock clock) {
    this.name = name;
    this.defaults = defaults;
    this.prompt = prompt;
    this.clock = clock;
  }

  public InMemoryKeyring(String name, KeyringDefaults defaults) {
    this(name, defaults, defaults.prompter(), Clock.systemUTC());
  }

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

  @Override
  public byte[] sign(Session session, KeyBlob blob, byte[] data, int flags) throws AgentException {
    Entry e;
    synchronized (this) {
      purgeExpired();
      e = keys.get(blob);
    }
    if (e == null) {
      throw AgentException.failed("key not held by " + name);
    }
    if (e.restriction() != null) {
      e.restriction().authorizeSignature(session, blob, data);
    }
    if (e.confirm()) {
      // Asked outside the lock: a prompt may take a minute and must not block other clients.
      if (!prompt.confirmUse(session, List.of(e.comment()), fingerprint(blob))) {
        throw AgentException.failed("use of key " + fingerprint(blob) + " was not confirmed");
      }
    }
    try {
      byte[] signature;
      synchronized (e.key()) {
        signature = e.key().sign(data, flags);
      }
      log.debug("{}: signed {} bytes with {} key {} as {}", session, data.length, blob.type(),
          fingerprint(blob), Fingerprints.keyType(signature));
      return signature;
    } catch (RuntimeException ex) {
      throw AgentException.failed("signing with " + blob.type() + " key failed: " + ex.getMessage(), ex);
    }
  }

  @Override
  public void add(Session session, AddIdentity request) throws AgentException {
    SupportedConstraints constraints = SupportedConstraints.of(request.constraints(), defaults.defaultLifetime(),
        "the " + name + " keyring", clock);
    Duration lifetime = constraints.lifetime();
    boolean confirm = constraints.confirm();
    SshPrivateKey key;
    try {
      key = SshPrivateKey.fromAgentWire(request.keyMaterial());
    } catch (KeyFormatException e) {
      throw AgentException.failed("key refused: " + e.getMessage());
    }
    KeyBlob blob = new KeyBlob(key.publicBlob());
    Instant expires = lifetime.isZero() ? null : clock.instant().plus(lifetime);
    Entry old;
    synchronized (this) {
      old = keys.remove(blob); // re-adding replaces comment and constraints, as OpenSSH does
      keys.put(blob, new Entry(key, request.comment(), expires, confirm, constraints.restriction()));
    }
    if (old != null) {
      old.key().close();
    }
    if (expires != null) {
      reaper.schedule(this::purgeExpiredNow, lifetime.toMillis() + 10, TimeUnit.MILLISECONDS);
    }
    log.info("added {} key {} ({}){}{}{}", key.type(), fingerprint(blob), request.comment(),
        expires == null ? "" : ", lifetime " + lifetime.toSeconds() + " s", confirm ? ", confirm each use" : "",
        constraints.restriction() == null ? "" : ", " + constraints.restriction());
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
    e.key().close();
  }

  @Override
  public void removeAll(Session session) {
    List<Entry> all;
    synchronized (this) {
      all = new ArrayList<>(keys.values());
      keys.clear();
    }
    all.forEach(e -> e.key().close());
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
        en.getValue().key().close();
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
