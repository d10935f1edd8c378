package dev.keymux.core.agent;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection as agents see it: who the peer is, the session bindings the client has
 * recorded, and per-connection state a backend may attach (closed with the connection).
 */
public final class Session implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Session.class);
  private static final AtomicLong IDS = new AtomicLong();

  private final long id = IDS.incrementAndGet();
  private final Peer peer;
  private final List<SessionBinding> bindings = new ArrayList<>();
  private boolean bindAttempted; // guarded by this
  private final Map<Object, AutoCloseable> attachments = new ConcurrentHashMap<>();
  private volatile boolean closed;

  public Session(Peer peer) {
    this.peer = peer;
  }

  /** A session for calls that do not come from a socket (CLI, tests). */
  public static Session local() {
    return new Session(new Peer(ProcessHandle.current().pid(), -1, -1, "local"));
  }

  public long id() {
    return id;
  }

  public Peer peer() {
    return peer;
  }

  public synchronized List<SessionBinding> bindings() {
    return List.copyOf(bindings);
  }

  /**
   * The host key of the server the client is logging in to: its last binding for authentication
   * (not forwarding), or null when it bound none (not an ssh login, or an older client).
   */
  public synchronized KeyBlob destinationHostKey() {
    KeyBlob host = null;
    for (SessionBinding b : bindings) {
      if (!b.forwarding()) {
        host = b.hostKey();
      }
    }
    return host;
  }

  /** True when any binding says the request came through agent forwarding. */
  public synchronized boolean forwarded() {
    return bindings.stream().anyMatch(SessionBinding::forwarding);
  }

  /** Records a binding; the caller (the session-bind handler) has checked OpenSSH's rules. */
  public synchronized void addBinding(SessionBinding binding) {
    bindings.add(binding);
  }

  /** Records that the client sent session-bind@openssh.com, whether or not it was accepted. */
  public synchronized void markBindAttempted() {
    bindAttempted = true;
  }

  /**
   * True once the client sent any session-bind (OpenSSH's {@code session_bind_attempted}): with
   * {@link #bindings()}, how OpenSSH tells a connection that came through ssh (forwarding or
   * authentication) from a local one.
   */
  public synchronized boolean bindAttempted() {
    return bindAttempted;
  }

  /**
   * Per-connection state owned by a backend, created on first use and closed with the session
   * (e.g. one upstream agent connection per client connection).
   */
  @SuppressWarnings("unchecked")
  public <T extends AutoCloseable> T attachment(Object key, Function<Object, T> create) {
    T t = (T) attachments.computeIfAbsent(key, create);
    if (closed) {
      // A backend call that outlived its connection (a timed-out pool thread) must not leave
      // state, such as an upstream connection, that nobody will close.
      closeQuietly(attachments.remove(key));
    }
    return t;
  }

  @Override
  public void close() {
    closed = true;
    for (Object key : List.copyOf(attachments.keySet())) {
      closeQuietly(attachments.remove(key));
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      log.debug("closing session attachment failed", e);
    }
  }

  @Override
  public String toString() {
    return "session " + id + " (pid " + peer.pid() + ", uid " + peer.uid() + ")";
  }
}
