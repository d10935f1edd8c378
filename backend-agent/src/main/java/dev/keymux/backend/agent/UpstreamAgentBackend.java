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
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Another agent behind keymux. Each client connection gets its own upstream connection, opened
 * on first use and closed with the client, and every session-bind@openssh.com the client sent
 * is told to it before it is used — again after every reconnection — so destination-restricted
 * keys ({@code ssh-add -h}) in the upstream keep working. An unreachable, hung or garbling
 * upstream is marked down, skipped and retried with back-off; one that leads back to this keymux
 * is disabled. An upstream that is simply not running (GNOME Keyring on a machine without GNOME)
 * offers no keys and is not an error.
 */
public final class UpstreamAgentBackend implements Backend {
  private static final Logger log = LoggerFactory.getLogger(UpstreamAgentBackend.class);

  /**
   * One client connection's link to the upstream. Guarded by itself: the bindings are told and
   * the request is sent under one lock, so a request never goes out on a connection that has not
   * heard every binding.
   */
  private static final class Link implements AutoCloseable {
    final AgentClient client;
    long generation = -1; // of the client's connection the first `replayed` bindings were told to
    int replayed;

    Link(AgentClient client) {
      this.client = client;
    }

    /** Never waits for a request in flight; a pool thread still using the link fails, it does not reconnect. */
    @Override
    public void close() {
      client.close();
    }
  }

  /** The upstream is not running: no keys, a calm health line, no back-off. */
  private static final class Absent extends AgentException {
    Absent(String why) {
      super(Kind.FAILED, why);
    }
  }

  private final String name;
  private final Supplier<Optional<Path>> socket;
  private final String whenAbsent;
  private final UpstreamTimeouts timeouts;
  private final Clock clock;
  private final Object state = new Object();
  private Instant retryAt = Instant.MIN; // guarded by state
  private Duration nextBackoff; // guarded by state
  private volatile boolean loop;
  private volatile boolean loopChecked;
  private volatile Health health = Health.ok();

  UpstreamAgentBackend(String name, UpstreamSettings settings, Clock clock) {
    this(name, () -> Optional.of(settings.socket()), "", settings.timeouts(), clock);
  }

  /**
   * An upstream whose socket is looked up at each new client connection, for agents that may
   * appear after keymux starts (GNOME Keyring, gcr-ssh-agent).
   *
   * @param socket the socket, or empty while the upstream is not running
   * @param whenAbsent the health detail while it is not running, e.g. "GNOME Keyring not running"
   */
  public UpstreamAgentBackend(String name, Supplier<Optional<Path>> socket, String whenAbsent, UpstreamTimeouts timeouts,
      Clock clock) {
    this.name = name;
    this.socket = socket;
    this.whenAbsent = whenAbsent;
    this.timeouts = timeouts;
    this.clock = clock;
    this.nextBackoff = timeouts.backoff();
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

  private Path socketOrAbsent() throws Absent {
    Optional<Path> where = socket.get();
    if (where.isEmpty()) {
      if (!loop) {
        health = new Health(true, whenAbsent);
      }
      throw new Absent(whenAbsent);
    }
    return where.get();
  }

  /** The link for this client connection: loop-checked, not in back-off. */
  private Link link(Session session) throws AgentException {
    if (loop) {
      throw AgentException.failed(health.detail());
    }
    synchronized (state) {
      if (clock.instant().isBefore(retryAt)) {
        throw AgentException.failed("upstream of backend " + name + " is down; next try at " + retryAt);
      }
    }
    Path where = socketOrAbsent();
    if (!loopChecked) {
      checkLoop(where);
    }
    return session.attachment(this, k -> new Link(new AgentClient(where, timeouts.request(), timeouts.connect())));
  }

  /**
   * Tells the link's current upstream connection the session bindings it has not heard yet —
   * all of them when the connection is new (first use, or a reconnection after a failure).
   */
  private void replay(Link link, Session session) throws AgentException {
    long generation = link.client.connect();
    if (generation != link.generation) {
      link.generation = generation;
      link.replayed = 0;
    }
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

  private void checkLoop(Path where) throws AgentException {
    if (leadsBackTo(where, List.of(Instance.ID))) {
      loop = true;
      health = Health.down("loop: " + where + " leads back to this keymux; backend disabled");
      log.error("backend {}: the upstream socket {} leads back to this keymux (directly or through another keymux); "
          + "backend disabled — point it at a different agent", name, where);
      throw AgentException.failed(health.detail());
    }
    loopChecked = true;
  }

  @Override
  public boolean leadsBackTo(List<String> visited) {
    Optional<Path> where = socket.get();
    return where.isPresent() && leadsBackTo(where.get(), visited);
  }

  private boolean leadsBackTo(Path where, List<String> visited) {
    // A separate short-lived connection: the question is about the path, not a client session.
    try (AgentClient probe = new AgentClient(where, timeouts.request(), timeouts.connect())) {
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

  private <T> T call(Session session, UpstreamCall<T> call) throws AgentException {
    try {
      Link link = link(session);
      T result;
      synchronized (link) {
        replay(link, session);
        result = call.apply(link.client);
      }
      up();
      return result;
    } catch (AgentException e) {
      if (e.kind() == AgentException.Kind.UNREACHABLE) {
        down(e.getMessage());
      }
      throw e;
    }
  }

  private interface UpstreamCall<T> {
    T apply(AgentClient client) throws AgentException;
  }

  private void up() {
    if (!health.up() && !loop) {
      log.info("backend {}: upstream answers again", name);
    }
    synchronized (state) {
      nextBackoff = timeouts.backoff();
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
      nextBackoff = doubled.compareTo(timeouts.maxBackoff()) > 0 ? timeouts.maxBackoff() : doubled;
    }
    if (health.up()) {
      log.warn("backend {}: upstream unavailable ({}); retrying with back-off", name, why);
    }
    health = Health.down("upstream unavailable: " + why);
    loopChecked = false; // whatever answers after a restart is checked again
  }

  /** An absent or broken upstream offers no keys; its health says why (no log line per list). */
  /** At once only when there is no upstream socket to ask: its agent is not running, so no keys. */
  @Override
  public Optional<List<Identity>> listAtOnce(Session session) {
    try {
      socketOrAbsent();
      return Optional.empty();
    } catch (Absent e) {
      return Optional.of(List.of());
    }
  }

  @Override
  public List<Identity> list(Session session) throws AgentException {
    List<Identity> ids;
    try {
      ids = call(session, c -> c.list(session));
    } catch (AgentException e) {
      if (e instanceof Absent || !health.up()) {
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
    return call(session, c -> c.sign(session, key, data, flags));
  }

  @Override
  public void add(Session session, AgentRequest.AddIdentity request) throws AgentException {
    call(session, c -> {
      c.add(session, request);
      return null;
    });
  }

  @Override
  public void remove(Session session, KeyBlob key) throws AgentException {
    call(session, c -> {
      c.remove(session, key);
      return null;
    });
  }

  @Override
  public void removeAll(Session session) throws AgentException {
    call(session, c -> {
      c.removeAll(session);
      return null;
    });
  }

  /** Extensions keymux does not answer itself go to the first upstream that knows them. */
  @Override
  public AgentResponse extension(Session session, String extension, byte[] contents) throws AgentException {
    return call(session, c -> c.extension(session, extension, contents));
  }
}
