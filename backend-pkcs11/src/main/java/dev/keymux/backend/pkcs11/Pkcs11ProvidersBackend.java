package dev.keymux.backend.pkcs11;

import dev.keymux.core.concurrent.DaemonThreads;
import dev.keymux.core.keyring.SupportedConstraints;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.ProviderAllowlist;
import dev.keymux.core.agent.Session;
import dev.keymux.core.prompt.Prompter;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.wire.AgentRequest.AddSmartcardKey;
import dev.keymux.core.wire.AgentRequest.RemoveSmartcardKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tokens loaded on a client's request ({@code ssh-add -s MODULE}, removed with {@code -e}),
 * as OpenSSH's agent does: the library's real path must be on the allowlist, a connection that
 * sent any session-bind may not load libraries (CVE-2023-38408), and the PIN the client sent logs in at
 * once and is then wiped. The lifetime (ssh-add -t, default keymux agent -t) and confirm (ssh-add
 * -c) constraints apply to every key of the library's tokens; other constraints are refused.
 */
final class Pkcs11ProvidersBackend implements Backend {
  private static final Logger log = LoggerFactory.getLogger(Pkcs11ProvidersBackend.class);

  private static final ScheduledExecutorService EXPIRY = DaemonThreads.scheduler("keymux-pkcs11-expiry");

  /**
   * One library added with ssh-add -s: its tokens, and the constraints given with it, which apply
   * to every key of those tokens (as in OpenSSH).
   *
   * @param expires when it is removed (ssh-add -t, or keymux agent -t), null = never
   * @param confirm each signature asks the user first (ssh-add -c)
   */
  private record Provider(List<Pkcs11Backend> tokens, Instant expires, boolean confirm) {
    boolean expired(Instant now) {
      return expires != null && !now.isBefore(expires);
    }
  }

  private final String name;
  private final ProviderAllowlist allowlist;
  private final KeyringDefaults defaults;
  private final Prompter prompt;
  private final Clock clock;
  private final Map<Path, Provider> providers = new LinkedHashMap<>(); // guarded by this
  private final Set<Path> adding = new HashSet<>(); // guarded by this: libraries being loaded now

  Pkcs11ProvidersBackend(String name, ProviderAllowlist allowlist, KeyringDefaults defaults, Prompter prompt, Clock clock) {
    this.name = name;
    this.allowlist = allowlist;
    this.defaults = defaults;
    this.prompt = prompt;
    this.clock = clock;
  }

  @Override
  public String name() {
    return name;
  }

  /** The providers not expired; expired ones are removed (and their tokens closed) first. */
  private List<Provider> live() {
    List<Provider> expired = new ArrayList<>();
    List<Provider> live = new ArrayList<>();
    Instant now = clock.instant();
    synchronized (this) {
      providers.entrySet().removeIf(e -> {
        if (e.getValue().expired(now)) {
          log.info("backend {}: PKCS#11 provider {} reached its lifetime and was removed", name, e.getKey());
          expired.add(e.getValue());
          return true;
        }
        return false;
      });
      live.addAll(providers.values());
    }
    expired.forEach(p -> p.tokens().forEach(Pkcs11Backend::close));
    return live;
  }

  /** At once only while no provider is added (ssh-add -s): a token is asked on a pool thread. */
  @Override
  public synchronized Optional<List<Identity>> listAtOnce(Session session) {
    return providers.isEmpty() ? Optional.of(List.of()) : Optional.empty();
  }

  @Override
  public List<Identity> list(Session session) {
    List<Identity> out = new ArrayList<>();
    for (Provider p : live()) {
      for (Pkcs11Backend t : p.tokens()) {
        listed(t, session).forEach(id -> out.add(id.withBackend(name)));
      }
    }
    return out;
  }

  /** One token's keys; a token that fails unexpectedly lists nothing and hides no other. */
  private static List<Identity> listed(Pkcs11Backend t, Session session) {
    try {
      return t.list(session);
    } catch (RuntimeException e) {
      log.warn("backend {}: listing failed: {}", t.name(), e.toString());
      return List.of();
    }
  }

  @Override
  public byte[] sign(Session session, KeyBlob key, byte[] data, int flags) throws AgentException {
    for (Provider p : live()) {
      for (Pkcs11Backend t : p.tokens()) {
        Optional<Identity> id = listed(t, session).stream().filter(i -> i.key().equals(key)).findFirst();
        if (id.isPresent()) {
          if (p.confirm()) {
            // Asked without any lock held: a prompt may take a minute.
            String fingerprint = Fingerprints.of(key.bytes(), defaults.fingerprintHash());
            if (!prompt.confirmUse(session, List.of(id.get().comment()), fingerprint)) {
              throw AgentException.failed("use of key " + fingerprint + " was not confirmed");
            }
          }
          return t.sign(session, key, data, flags);
        }
      }
    }
    throw AgentException.failed("key not on any token added with ssh-add -s");
  }

  @Override
  public String keyState(KeyBlob key) {
    for (Provider p : live()) {
      for (Pkcs11Backend t : p.tokens()) {
        String s = t.keyState(key);
        if (!s.isEmpty()) {
          return s + (p.confirm() ? ", confirm each use" : "")
              + (p.expires() == null ? "" : ", removed in " + Duration.between(clock.instant(), p.expires()).toSeconds() + " s");
        }
      }
    }
    return "";
  }

  @Override
  public void addSmartcard(Session session, AddSmartcardKey request) throws AgentException {
    char[] pin = chars(request.pin());
    try {
      // As OpenSSH's socket_is_remote: any session-bind, even a refused one, means the client
      // came through ssh (forwarded or authenticating), and such clients may not load libraries.
      if (session.bindAttempted() || !session.bindings().isEmpty()) {
        throw AgentException.failed("refusing to load PKCS#11 provider " + request.provider()
            + " over a forwarded or ssh-bound connection (session-bind seen; CVE-2023-38408)");
      }
      SupportedConstraints constraints = SupportedConstraints.of(request.constraints(), defaults.defaultLifetime(),
          "PKCS#11 provider " + request.provider());
      Duration lifetime = constraints.lifetime();
      boolean confirm = constraints.confirm();
      Path real = allowlist.check(request.provider());
      synchronized (this) {
        // Checked and reserved at once: two concurrent adds of one library must not both load it.
        if (providers.containsKey(real) || !adding.add(real)) {
          throw AgentException.failed("PKCS#11 provider " + real + " is already added");
        }
      }
      List<Pkcs11Backend> added;
      Instant expires = lifetime.isZero() ? null : clock.instant().plus(lifetime);
      try {
        added = logIn(real, pin);
        synchronized (this) {
          providers.put(real, new Provider(List.copyOf(added), expires, confirm));
        }
      } finally {
        synchronized (this) {
          adding.remove(real);
        }
      }
      if (expires != null) {
        // Removed (tokens logged out) when the lifetime ends even if nobody lists meanwhile.
        EXPIRY.schedule(this::live, lifetime.toMillis() + 10, TimeUnit.MILLISECONDS);
      }
      log.info("backend {}: added PKCS#11 provider {} ({} token(s)){}{}", name, real, added.size(),
          expires == null ? "" : ", lifetime " + lifetime.toSeconds() + " s", confirm ? ", confirm each use" : "");
    } finally {
      Arrays.fill(pin, '\0');
    }
  }

  /** A backend for every token of {@code real}, each logged in with {@code pin}; fails if none could. */
  private List<Pkcs11Backend> logIn(Path real, char[] pin) throws AgentException {
    List<String> labels;
    try {
      labels = Pkcs11Modules.tokenLabels(real);
    } catch (IOException e) {
      throw AgentException.failed(e.getMessage());
    }
    if (labels.isEmpty()) {
      throw AgentException.failed("PKCS#11 provider " + real + " shows no token");
    }
    List<Pkcs11Backend> added = new ArrayList<>();
    AgentException firstFailure = null;
    for (String label : labels) {
      Pkcs11Backend token = new Pkcs11Backend(name + ":" + label, Pkcs11Settings.added(real.toString(), label),
          (l, hint, client) -> Optional.empty(), false);
      try {
        token.addWithPin(pin.clone());
        added.add(token);
      } catch (AgentException e) {
        token.close();
        firstFailure = firstFailure == null ? e : firstFailure;
      }
    }
    if (added.isEmpty()) {
      throw firstFailure;
    }
    return added;
  }

  @Override
  public void removeSmartcard(Session session, RemoveSmartcardKey request) throws AgentException {
    Path path;
    try {
      path = Path.of(request.provider()).toRealPath();
    } catch (IOException e) {
      path = Path.of(request.provider());
    }
    Provider removed;
    synchronized (this) {
      removed = providers.remove(path);
    }
    if (removed == null) {
      throw AgentException.failed("PKCS#11 provider " + request.provider() + " was not added");
    }
    removed.tokens().forEach(Pkcs11Backend::close);
    log.info("backend {}: removed PKCS#11 provider {}", name, path);
  }

  /** ssh-add -D removes token keys too, as in OpenSSH. */
  @Override
  public void removeAll(Session session) {
    List<Provider> all;
    synchronized (this) {
      all = new ArrayList<>(providers.values());
      providers.clear();
    }
    all.forEach(p -> p.tokens().forEach(Pkcs11Backend::close));
  }

  @Override
  public void close() {
    removeAll(null);
  }

  private static char[] chars(byte[] utf8) {
    CharBuffer cb = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(utf8));
    char[] out = Arrays.copyOf(cb.array(), cb.limit());
    Arrays.fill(cb.array(), '\0');
    return out;
  }
}
