package dev.keymux.core.mux;

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
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
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

  /**
   * @param backends in configured order
   * @param addTarget where keys added with ssh-add go, or null to refuse adds
   */
  public Multiplexer(List<Backend> backends, Backend addTarget, Duration backendTimeout, Duration signTimeout) {
    this.backends = List.copyOf(backends);
    this.addTarget = addTarget;
    this.backendTimeout = backendTimeout;
    this.signTimeout = signTimeout;
    AtomicInteger n = new AtomicInteger();
    this.pool = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "keymux-backend-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  public List<Backend> backends() {
    return backends;
  }

  @Override
  public List<Identity> list(Session session) {
    Map<KeyBlob, Identity> merged = new LinkedHashMap<>();
    Map<KeyBlob, Backend> owners = new java.util.HashMap<>();
    for (BackendIdentities r : listAll(session)) {
      for (Identity id : r.identities) {
        if (merged.putIfAbsent(id.key(), id.withBackend(r.backend.name())) == null) {
          owners.put(id.key(), r.backend);
        }
      }
    }
    session.attachment(lastListKey, k -> new LastList()).owners = owners;
    return new ArrayList<>(merged.values());
  }

  /**
   * Who held each key at this connection's last list. Clients list, then sign what they were
   * offered; remembering the owner spares every backend a second list per signature.
   */
  private static final class LastList implements AutoCloseable {
    volatile Map<KeyBlob, Backend> owners = Map.of();

    @Override
    public void close() {
      owners = Map.of();
    }
  }

  private final Object lastListKey = new Object();

  private record BackendIdentities(Backend backend, List<Identity> identities) {}

  /** Lists every backend in parallel; the ones that fail or miss the deadline are left out. */
  private List<BackendIdentities> listAll(Session session) {
    List<Future<List<Identity>>> futures = new ArrayList<>();
    for (Backend b : backends) {
      futures.add(pool.submit(() -> b.list(session)));
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

  @Override
  public byte[] sign(Session session, KeyBlob key, byte[] data, int flags) throws AgentException {
    Backend lastOwner = session.attachment(lastListKey, k -> new LastList()).owners.get(key);
    if (lastOwner != null) {
      try {
        return call(lastOwner, "sign", signTimeout, () -> lastOwner.sign(session, key, data, flags));
      } catch (AgentException e) {
        log.info("backend {} could not sign with the key it listed ({}); asking all backends", lastOwner.name(), e.getMessage());
      }
    }
    List<Backend> holders = holdersOf(session, key);
    holders.remove(lastOwner); // already asked: never prompt the user twice for one request
    if (holders.isEmpty()) {
      throw AgentException.failed(lastOwner != null ? "backend " + lastOwner.name() + " could not sign"
          : "no backend holds the requested " + key.type() + " key");
    }
    AgentException last = null;
    for (Backend b : holders) {
      try {
        return call(b, "sign", signTimeout, () -> b.sign(session, key, data, flags));
      } catch (AgentException e) {
        log.warn("backend {} could not sign: {}", b.name(), e.getMessage());
        last = e;
      }
    }
    throw last;
  }

  private List<Backend> holdersOf(Session session, KeyBlob key) {
    List<Backend> holders = new ArrayList<>();
    for (BackendIdentities r : listAll(session)) {
      if (r.identities.stream().anyMatch(id -> id.key().equals(key))) {
        holders.add(r.backend);
      }
    }
    return holders;
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
    if (addTarget == null) {
      throw AgentException.failed("no backend accepts added keys in this configuration");
    }
    addTarget.add(session, request);
  }

  @Override
  public void remove(Session session, KeyBlob key) throws AgentException {
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
    firstSupporting("PKCS#11 providers", b -> {
      b.addSmartcard(session, request);
      return null;
    });
  }

  @Override
  public void removeSmartcard(Session session, RemoveSmartcardKey request) throws AgentException {
    firstSupporting("PKCS#11 providers", b -> {
      b.removeSmartcard(session, request);
      return null;
    });
  }

  @Override
  public List<String> extensions() {
    List<String> names = new ArrayList<>(List.of(AgentProtocol.EXT_KEYMUX_LIST, AgentProtocol.EXT_KEYMUX_CHAIN));
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
    return firstSupporting("extension " + name, b -> b.extension(session, name, contents));
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
   * list@keymux.dev: like REQUEST_IDENTITIES plus, per key, the backend holding it and its state
   * (uint32 n, then n × string key, string comment, string backend, string state), followed by
   * each backend's health (uint32 m, then m × string name, bool up, string detail).
   */
  private AgentResponse describeKeys(Session session) {
    Map<String, Backend> byName = new LinkedHashMap<>();
    backends.forEach(b -> byName.put(b.name(), b));
    List<Identity> ids = AgentCodec.fitIdentities(list(session));
    SshWriter w = new SshWriter();
    w.writeUint32(ids.size());
    for (Identity id : ids) {
      Backend b = byName.get(id.backend());
      String state = b == null ? "" : b.keyState(id.key());
      w.writeString(id.key().bytes()).writeString(id.comment()).writeString(id.backend()).writeString(state);
    }
    // Then every backend's health, so a backend that offers nothing can say why.
    w.writeUint32(backends.size());
    for (Backend b : backends) {
      dev.keymux.core.agent.Health h = b.health();
      w.writeString(b.name()).writeBoolean(h.up()).writeString(h.detail());
    }
    return new AgentResponse.ExtensionResponse(AgentProtocol.EXT_KEYMUX_LIST, w.toByteArray());
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
