package dev.keymux.backend.agent;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Health;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.Instance;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.agent.SessionBinding;
import dev.keymux.core.client.AgentClient;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.AgentRequest;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Another agent behind keymux. Each client connection gets its own upstream connection, opened
 * on first use and closed with the client, and every session-bind@openssh.com the client sent
 * is replayed on it before it is used — so destination-restricted keys ({@code ssh-add -h}) in
 * the upstream keep working. A dead, hung or garbling upstream is skipped and retried with
 * back-off; one that leads back to this keymux is disabled.
 */
public final class UpstreamAgentBackend implements Backend {
  private static final Logger log = LoggerFactory.getLogger(UpstreamAgentBackend.class);

  /** One client connection's link to the upstream. */
  private static final class Link implements AutoCloseable {
    final AgentClient client;
    int replayed; // session bindings already told to the upstream

    Link(AgentClient client) {
      this.client = client;
    }

    @Override
    public void close() {
      client.close();
    }
  }

  private final String name;
  private final UpstreamSettings settings;
  private final Clock clock;
  private final Object state = new Object();
  private Instant retryAt = Instant.MIN; // guarded by state
  private Duration nextBackoff; // guarded by state
  private volatile boolean loop;
  private volatile boolean loopChecked;
  private volatile Health health = Health.ok();

  private final java.util.function.Supplier<java.nio.file.Path> socket;

  UpstreamAgentBackend(String name, UpstreamSettings settings, Clock clock) {
    this(name, settings::socket, settings.requestTimeout(), settings.backoff(), settings.maxBackoff(), clock);
    this.connectTimeout = settings.connectTimeout();
  }

  private Duration connectTimeout = Duration.ofSeconds(2);

  /**
   * An upstream whose socket is looked up at each (re)connection, for agents that may appear
   * after keymux starts (GNOME Keyring, gcr-ssh-agent).
   */
  public UpstreamAgentBackend(String name, java.util.function.Supplier<java.nio.file.Path> socket, Duration requestTimeout,
      Duration backoff, Duration maxBackoff, Clock clock) {
    this.name = name;
    this.socket = socket;
    this.settings = new UpstreamSettings(java.nio.file.Path.of("/"), requestTimeout, backoff, maxBackoff, Duration.ofSeconds(2));
    this.clock = clock;
    this.nextBackoff = backoff;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Health health() {
    return health;
  }

  @Override
  public String keyState(KeyBlob key) {
    return health.up() ? "" : health.detail();
  }

  /** The link for this client connection, ready for use: loop-checked and bindings replayed. */
  private Link link(Session session) throws AgentException {
    if (loop) {
      throw AgentException.failed(health.detail());
    }
    synchronized (state) {
      if (clock.instant().isBefore(retryAt)) {
        throw AgentException.failed("upstream " + socket.get() + " is down; next try at " + retryAt);
      }
    }
    if (!loopChecked) {
      checkLoop();
    }
    Link link = session.attachment(this, k -> new Link(new AgentClient(socket.get(), settings.requestTimeout(), connectTimeout)));
    synchronized (link) {
      List<SessionBinding> bindings = session.bindings();
      for (int i = link.replayed; i < bindings.size(); i++) {
        AgentResponse r = link.client.call(new AgentRequest.Extension(AgentProtocol.EXT_SESSION_BIND, bindings.get(i).message()));
        if (!(r instanceof AgentResponse.Success)) {
          // Like OpenSSH's client: an agent that cannot bind still serves unrestricted keys.
          log.debug("backend {}: upstream did not accept a session binding ({})", name, r.getClass().getSimpleName());
        }
        link.replayed = i + 1;
      }
    }
    return link;
  }

  private void checkLoop() throws AgentException {
    List<String> visited = List.of(Instance.ID);
    if (leadsBackTo(visited)) {
      loop = true;
      health = Health.down("loop: " + socket.get() + " leads back to this keymux; backend disabled");
      log.error("backend {}: the upstream socket {} leads back to this keymux (directly or through another keymux); "
          + "backend disabled — point it at a different agent", name, socket.get());
      throw AgentException.failed(health.detail());
    }
    loopChecked = true;
  }

  @Override
  public boolean leadsBackTo(List<String> visited) {
    // A separate short-lived connection: the question is about the path, not a client session.
    try (AgentClient probe = new AgentClient(socket.get(), settings.requestTimeout(), connectTimeout)) {
      SshWriter w = new SshWriter().writeUint32(visited.size());
      visited.forEach(w::writeString);
      AgentResponse r = probe.call(new AgentRequest.Extension(AgentProtocol.EXT_KEYMUX_CHAIN, w.toByteArray()));
      if (r instanceof AgentResponse.ExtensionResponse e) {
        return new SshReader(e.contents()).readBoolean();
      }
      return false; // not a keymux: the path ends here
    } catch (AgentException | ProtocolException e) {
      return false;
    }
  }

  private <T> T call(Session session, String what, UpstreamCall<T> call) throws AgentException {
    Link link = link(session);
    try {
      T result;
      synchronized (link) {
        result = call.apply(link.client);
      }
      up();
      return result;
    } catch (AgentException e) {
      if (isTransport(e)) {
        down(e.getMessage());
      }
      throw e;
    }
  }

  private interface UpstreamCall<T> {
    T apply(AgentClient client) throws AgentException;
  }

  /** Failures of the connection itself (as opposed to the upstream refusing a request). */
  private static boolean isTransport(AgentException e) {
    String m = String.valueOf(e.getMessage());
    return m.startsWith("agent at ") && !m.contains("refused");
  }

  private void up() {
    if (!health.up() && !loop) {
      log.info("backend {}: upstream {} answers again", name, socket.get());
    }
    synchronized (state) {
      nextBackoff = settings.backoff();
      retryAt = Instant.MIN;
    }
    if (!loop) {
      health = Health.ok();
    }
  }

  private void down(String why) {
    synchronized (state) {
      retryAt = clock.instant().plus(nextBackoff);
      Duration doubled = nextBackoff.multipliedBy(2);
      nextBackoff = doubled.compareTo(settings.maxBackoff()) > 0 ? settings.maxBackoff() : doubled;
    }
    if (health.up()) {
      log.warn("backend {}: upstream unavailable ({}); retrying with back-off", name, why);
    }
    health = Health.down("upstream unavailable: " + why);
    loopChecked = false; // whatever answers after a restart is checked again
  }

  /** An absent or broken upstream offers no keys; its health says why (no log line per list). */
  @Override
  public List<Identity> list(Session session) throws AgentException {
    List<Identity> ids;
    try {
      ids = call(session, "list", c -> c.list(session));
    } catch (AgentException e) {
      if (!health.up()) {
        return List.of();
      }
      throw e;
    }
    List<Identity> out = new ArrayList<>(ids.size());
    ids.forEach(id -> out.add(id.withBackend(name)));
    return out;
  }

  @Override
  public byte[] sign(Session session, KeyBlob key, byte[] data, int flags) throws AgentException {
    return call(session, "sign", c -> c.sign(session, key, data, flags));
  }

  @Override
  public void add(Session session, AgentRequest.AddIdentity request) throws AgentException {
    call(session, "add", c -> {
      c.add(session, request);
      return null;
    });
  }

  @Override
  public void remove(Session session, KeyBlob key) throws AgentException {
    call(session, "remove", c -> {
      c.remove(session, key);
      return null;
    });
  }

  @Override
  public void removeAll(Session session) throws AgentException {
    call(session, "remove all", c -> {
      c.removeAll(session);
      return null;
    });
  }

  /** Extensions keymux does not answer itself go to the first upstream that knows them. */
  @Override
  public AgentResponse extension(Session session, String extension, byte[] contents) throws AgentException {
    return call(session, "extension", c -> c.extension(session, extension, contents));
  }
}
