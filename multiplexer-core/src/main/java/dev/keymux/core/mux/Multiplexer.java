package dev.keymux.core.mux;

import dev.keymux.core.concurrent.DaemonThreads;
import dev.keymux.core.agent.Agent;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.wire.AgentRequest.AddIdentity;
import dev.keymux.core.wire.AgentRequest.AddSmartcardKey;
import dev.keymux.core.wire.AgentRequest.RemoveSmartcardKey;
import dev.keymux.core.wire.AgentCodec;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.SshWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.Set;
import dev.keymux.core.policy.Policy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fans requests out to the backends. {@code list} asks every backend at once, each bounded by
 * the backend timeout, and merges in configured order keeping the first backend's copy of a
 * duplicate key; {@code sign} goes to the first backend holding the key and moves on to the next
 * holder if that one fails. A failing or slow backend is logged and skipped: it never fails the
 * whole request.
 */
public final class Multiplexer implements Agent, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Multiplexer.class);

  private final List<Backend> backends;
  private final Backend addTarget;
  private final Duration backendTimeout;
  private final Duration signTimeout;
  private final ExecutorService pool;
  private final Supplier<Policy> policy;
  private final Backend extensionTarget;

  /** A multiplexer without rules: every key offered, every signature allowed. */
  public Multiplexer(List<Backend> backends, Backend addTarget, Duration backendTimeout, Duration signTimeout) {
    this(backends, addTarget, null, backendTimeout, signTimeout, () -> Policy.ALLOW_ALL);
  }

  /**
   * @param backends in configured order
   * @param addTarget where keys added with ssh-add go, or null to refuse adds
   * @param extensionTarget where extensions keymux does not answer itself go, or null for the
   *     first healthy backend that supports them
   * @param policy the current policy, asked afresh for every request (it may be reloaded)
   */
  public Multiplexer(List<Backend> backends, Backend addTarget, Backend extensionTarget, Duration backendTimeout,
      Duration signTimeout, Supplier<Policy> policy) {
    this.policy = policy;
    this.extensionTarget = extensionTarget;
    this.backends = List.copyOf(backends);
    this.addTarget = addTarget;
    this.backendTimeout = backendTimeout;
    this.signTimeout = signTimeout;
    this.pool = Executors.newCachedThreadPool(DaemonThreads.numbered("keymux-backend-"));
  }

  public List<Backend> backends() {
    return backends;
  }

  /**
   * An extension keymux answers itself for the user who runs it (grants, for instance): only on
   * connections that may manage keys (the main socket), never forwarded to a backend.
   */
  @FunctionalInterface
  public interface OwnerExtension {
    /** The answer's contents; an AgentException is a refusal. */
    byte[] answer(Session session, byte[] contents) throws AgentException;
  }

  private final Map<String, OwnerExtension> ownerExtensions = new java.util.concurrent.ConcurrentHashMap<>();

  /** Answers extension {@code name} with {@code handler} from now on. */
  public void addOwnerExtension(String name, OwnerExtension handler) {
    ownerExtensions.put(name, handler);
  }

  @Override
  public List<Identity> list(Session session) {
    Policy.View view = policy.get().view(session);
    Map<KeyBlob, Policy.KeyHolding> held = holdings(session, view);
    session.attachment(lastListKey, k -> new LastList()).held = held;
    return view.offer(List.copyOf(held.values()));
  }

  /** Whether this connection may add, remove, lock or load providers. */
  public boolean mayManage(Session session) {
    return policy.get().view(session).mayManage();
  }

  /** Every key the connection's backends hold, each with all its holders, in backend order. */
  private Map<KeyBlob, Policy.KeyHolding> holdings(Session session, Policy.View view) {
    Map<KeyBlob, List<Identity>> byKey = new LinkedHashMap<>();
    for (BackendIdentities r : listAll(session, reachable(view))) {
      for (Identity id : r.identities) {
        byKey.computeIfAbsent(id.key(), k -> new ArrayList<>()).add(id.withBackend(r.backend.name()));
      }
    }
    Map<KeyBlob, Policy.KeyHolding> out = new LinkedHashMap<>();
    byKey.forEach((k, ids) -> out.put(k, new Policy.KeyHolding(ids)));
    return out;
  }

  private List<Backend> reachable(Policy.View view) {
    Set<String> allowed = view.backends();
    return allowed == null ? backends : backends.stream().filter(b -> allowed.contains(b.name())).toList();
  }

  /**
   * The keys each backend held at this connection's last list. Clients list, then sign what they
   * were offered; remembering the holders spares every backend a second list per signature.
   */
  private static final class LastList implements AutoCloseable {
    volatile Map<KeyBlob, Policy.KeyHolding> held = Map.of();

    @Override
    public void close() {
      held = Map.of();
    }
  }

  private final Object lastListKey = new Object();

  private record BackendIdentities(Backend backend, List<Identity> identities) {}

  /** Lists every backend in parallel; the ones that fail or miss the deadline are left out. */
  private List<BackendIdentities> listAll(Session session, List<Backend> backends) {
    List<Future<List<Identity>>> futures = new ArrayList<>();
    for (Backend b : backends) {
      futures.add(listing(b, session));
    }
    long deadline = System.nanoTime() + backendTimeout.toNanos();
    List<BackendIdentities> out = new ArrayList<>();
    for (int i = 0; i < backends.size(); i++) {
      Backend b = backends.get(i);
      try {
        long left = Math.max(0, deadline - System.nanoTime());
        out.add(new BackendIdentities(b, futures.get(i).get(left, TimeUnit.NANOSECONDS)));
      } catch (TimeoutException e) {
        futures.get(i).cancel(true);
        log.warn("backend {} did not list its keys within {} ms; skipped", b.name(), backendTimeout.toMillis());
      } catch (ExecutionException e) {
        log.warn("backend {} failed to list its keys; skipped: {}", b.name(), describe(e.getCause()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        futures.forEach(f -> f.cancel(true));
        break;
      }
    }
    return out;
  }

  /** The backend's keys now, if it can tell them at once; else a pool task, which the caller bounds. */
  private Future<List<Identity>> listing(Backend b, Session session) {
    try {
      Optional<List<Identity>> now = b.listAtOnce(session);
      if (now.isPresent()) {
        return CompletableFuture.completedFuture(now.get());
      }
    } catch (AgentException | RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return pool.submit(() -> b.list(session));
  }

  /** Signs on this thread when the backend can sign at once, else on the pool under the sign timeout. */
  private byte[] signWith(Backend b, Session session, KeyBlob key, byte[] data, int flags) throws AgentException {
    Optional<byte[]> now;
    try {
      now = b.signAtOnce(session, key, data, flags);
    } catch (RuntimeException e) {
      throw AgentException.failed("backend " + b.name() + " failed to sign: " + describe(e), e);
    }
    if (now.isPresent()) {
      return now.get();
    }
    return call(b, "sign", signTimeout, () -> b.sign(session, key, data, flags));
  }

  @Override
  public byte[] sign(Session session, KeyBlob key, byte[] data, int flags) throws AgentException {
    Policy.View view = policy.get().view(session);
    Policy.KeyHolding holding = session.attachment(lastListKey, k -> new LastList()).held.get(key);
    boolean fromLastList = holding != null;
    if (holding == null) {
      holding = holdings(session, view).get(key);
    }
    if (holding == null) {
      throw AgentException.failed("no backend holds the requested " + key.type() + " key");
    }
    Policy.SignDecision decision = view.authorize(holding);
    List<String> tried = new ArrayList<>();
    AgentException last = null;
    for (String name : decision.backends()) {
      Backend b = byName(name);
      if (b == null || tried.contains(name)) {
        continue;
      }
      tried.add(name);
      try {
        byte[] signature = signWith(b, session, key, data, flags);
        decision.completed(name, null);
        return signature;
      } catch (AgentException e) {
        log.warn("backend {} could not sign: {}", name, e.getMessage());
        last = e;
      }
    }
    if (fromLastList) {
      // The key may have moved since the list (a token replugged, a file replaced): ask the
      // holders of now, but never one already asked — one request must not prompt twice.
      Policy.KeyHolding now = holdings(session, view).get(key);
      for (Identity id : now == null ? List.<Identity>of() : now.holders()) {
        Backend b = byName(id.backend());
        if (b == null || tried.contains(b.name())) {
          continue;
        }
        tried.add(b.name());
        try {
          byte[] signature = signWith(b, session, key, data, flags);
          decision.completed(b.name(), null);
          return signature;
        } catch (AgentException e) {
          log.warn("backend {} could not sign: {}", b.name(), e.getMessage());
          last = e;
        }
      }
    }
    AgentException failure = last != null ? last
        : AgentException.failed("no backend allowed to sign holds the requested " + key.type() + " key");
    decision.completed(null, failure.getMessage());
    throw failure;
  }

  private Backend byName(String name) {
    for (Backend b : backends) {
      if (b.name().equals(name)) {
        return b;
      }
    }
    return null;
  }

  private List<Backend> holdersOf(Session session, KeyBlob key) {
    Policy.KeyHolding h = holdings(session, policy.get().view(session)).get(key);
    List<Backend> out = new ArrayList<>();
    if (h != null) {
      h.holders().forEach(id -> out.add(byName(id.backend())));
    }
    return out;
  }

  /** Runs one backend call on the pool, bounded by {@code timeout}, unwrapping its failure. */
  private <T> T call(Backend b, String what, Duration timeout, Callable<T> task) throws AgentException {
    Future<T> f = pool.submit(task);
    try {
      return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      throw AgentException.failed("backend " + b.name() + " did not " + what + " within " + timeout.toMillis() + " ms");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof AgentException ae) {
        throw ae;
      }
      throw AgentException.failed("backend " + b.name() + " failed to " + what + ": " + describe(e.getCause()), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      f.cancel(true);
      throw AgentException.failed("interrupted");
    }
  }

  @Override
  public void add(Session session, AddIdentity request) throws AgentException {
    requireManage(session, "add keys");
    if (addTarget == null) {
      throw AgentException.failed("no backend accepts added keys in this configuration");
    }
    addTarget.add(session, request);
  }

  @Override
  public void remove(Session session, KeyBlob key) throws AgentException {
    requireManage(session, "remove keys");
    boolean removed = false;
    for (Backend b : holdersOf(session, key)) {
      try {
        b.remove(session, key);
        removed = true;
      } catch (AgentException e) {
        log.info("backend {} did not remove the key: {}", b.name(), e.getMessage());
      }
    }
    if (!removed) {
      throw AgentException.failed("no backend removed the " + key.type() + " key");
    }
  }

  @Override
  public void removeAll(Session session) throws AgentException {
    requireManage(session, "remove keys");
    boolean any = false;
    for (Backend b : backends) {
      try {
        b.removeAll(session);
        any = true;
      } catch (AgentException e) {
        if (e.kind() != AgentException.Kind.UNSUPPORTED) {
          log.warn("backend {} failed to remove all keys: {}", b.name(), e.getMessage());
        }
      }
    }
    if (!any) {
      throw AgentException.failed("no backend supports removing keys");
    }
  }

  @Override
  public void addSmartcard(Session session, AddSmartcardKey request) throws AgentException {
    requireManage(session, "load PKCS#11 providers");
    firstSupporting("PKCS#11 providers", b -> {
      b.addSmartcard(session, request);
      return null;
    });
  }

  @Override
  public void removeSmartcard(Session session, RemoveSmartcardKey request) throws AgentException {
    requireManage(session, "unload PKCS#11 providers");
    firstSupporting("PKCS#11 providers", b -> {
      b.removeSmartcard(session, request);
      return null;
    });
  }

  private void requireManage(Session session, String what) throws AgentException {
    if (!mayManage(session)) {
      throw AgentException.failed("socket " + session.peer().socketName() + " may not " + what);
    }
  }

  @Override
  public List<String> extensions() {
    List<String> names = new ArrayList<>(List.of(AgentProtocol.EXT_KEYMUX_LIST, AgentProtocol.EXT_KEYMUX_CHAIN));
    names.addAll(new java.util.TreeSet<>(ownerExtensions.keySet()));
    backends.forEach(b -> b.extensions().stream().filter(n -> !names.contains(n)).forEach(names::add));
    return names;
  }

  @Override
  public AgentResponse extension(Session session, String name, byte[] contents) throws AgentException {
    if (name.equals(AgentProtocol.EXT_KEYMUX_LIST)) {
      return describeKeys(session);
    }
    if (name.equals(AgentProtocol.EXT_KEYMUX_CHAIN)) {
      return new AgentResponse.ExtensionResponse(name, new SshWriter().writeBoolean(leadsBackTo(contents)).toByteArray());
    }
    requireManage(session, "use extension " + name);
    OwnerExtension own = ownerExtensions.get(name);
    if (own != null) {
      return new AgentResponse.ExtensionResponse(name, own.answer(session, contents));
    }
    if (extensionTarget != null) {
      return extensionTarget.extension(session, name, contents);
    }
    for (Backend b : backends) {
      if (!b.health().up()) {
        continue; // a dead upstream must not hide the live ones behind it
      }
      try {
        return b.extension(session, name, contents);
      } catch (AgentException e) {
        if (e.kind() != AgentException.Kind.UNSUPPORTED) {
          throw e;
        }
      }
    }
    throw AgentException.unsupported("extension " + name);
  }

  /** At most this many keymux instances on one path: a longer chain is treated as a loop. */
  private static final int MAX_CHAIN = 8;

  private boolean leadsBackTo(byte[] contents) throws AgentException {
    List<String> visited = new ArrayList<>();
    try {
      dev.keymux.core.wire.SshReader r = new dev.keymux.core.wire.SshReader(contents);
      long n = r.readUint32();
      for (long i = 0; i < n && i < MAX_CHAIN; i++) {
        visited.add(r.readUtf8());
      }
    } catch (dev.keymux.core.wire.ProtocolException e) {
      throw new AgentException(AgentException.Kind.EXTENSION_FAILED, "malformed chain query");
    }
    if (visited.contains(dev.keymux.core.agent.Instance.ID) || visited.size() >= MAX_CHAIN) {
      return true;
    }
    visited.add(dev.keymux.core.agent.Instance.ID);
    for (Backend b : backends) {
      if (b.leadsBackTo(visited)) {
        return true;
      }
    }
    return false;
  }

  /**
   * list@keymux.dev: like REQUEST_IDENTITIES plus, per key, the backend holding it and its state,
   * and each backend's health ({@link KeyListing}).
   */
  private AgentResponse describeKeys(Session session) {
    Policy.View view = policy.get().view(session);
    List<Backend> visible = reachable(view);
    Map<String, Backend> byName = new LinkedHashMap<>();
    visible.forEach(b -> byName.put(b.name(), b));
    Map<KeyBlob, Policy.KeyHolding> held = holdings(session, view);
    List<Identity> offered = view.offer(List.copyOf(held.values()));
    Set<KeyBlob> offeredKeys = new java.util.HashSet<>();
    offered.forEach(id -> offeredKeys.add(id.key()));
    List<Identity> shown = new ArrayList<>(offered);
    if (view.mayManage()) {
      // The owner's view also shows what the policy keeps from clients, so nothing is a mystery.
      held.values().stream().filter(h -> !offeredKeys.contains(h.key())).forEach(h -> shown.add(h.holders().get(0)));
    }
    List<KeyListing.Key> keys = new ArrayList<>();
    for (Identity id : AgentCodec.fitIdentities(shown)) {
      Backend b = byName.get(id.backend());
      String state = b == null ? "" : b.keyState(id.key());
      if (!offeredKeys.contains(id.key())) {
        state = state.isEmpty() ? "not offered: policy" : state + "; not offered: policy";
      }
      keys.add(new KeyListing.Key(id.key(), id.comment(), id.backend(), state));
    }
    // Then every backend's health, so a backend that offers nothing can say why.
    List<KeyListing.BackendHealth> health = visible.stream().map(b -> new KeyListing.BackendHealth(b.name(), b.health())).toList();
    return new AgentResponse.ExtensionResponse(AgentProtocol.EXT_KEYMUX_LIST, new KeyListing(keys, health).encode());
  }

  private interface BackendCall<T> {
    T apply(Backend b) throws AgentException;
  }

  private <T> T firstSupporting(String what, BackendCall<T> call) throws AgentException {
    for (Backend b : backends) {
      try {
        return call.apply(b);
      } catch (AgentException e) {
        if (e.kind() != AgentException.Kind.UNSUPPORTED) {
          throw e;
        }
      }
    }
    throw AgentException.unsupported(what);
  }

  /** Tells every backend the agent was locked. */
  public void onLock() {
    for (Backend b : backends) {
      try {
        b.onLock();
      } catch (RuntimeException e) {
        log.warn("backend {} failed to handle lock", b.name(), e);
      }
    }
  }

  private static String describe(Throwable t) {
    return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
  }

  @Override
  public void close() {
    pool.shutdownNow();
    for (Backend b : backends) {
      try {
        b.close();
      } catch (Exception e) {
        log.warn("closing backend {} failed", b.name(), e);
      }
    }
  }
}
