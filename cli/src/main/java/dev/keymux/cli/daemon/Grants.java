package dev.keymux.cli.daemon;

import dev.keymux.cli.SshTime;
import dev.keymux.config.policy.KeyFacts;
import dev.keymux.config.policy.SocketSettings;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.mux.KeyListing;
import dev.keymux.core.server.AgentServer;
import dev.keymux.core.server.Posix;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live grants of a running keymux. A grant is a scoped socket made on request of keymux's own
 * user (on the main socket, not through a forwarded or session-bound connection) for exactly one
 * other uid, offering only the keys its patterns name, never able to add, remove or lock keys,
 * and removed — socket, directory and open connections — when it expires or is revoked. Grants
 * live in memory: a restart of keymux ends them all.
 *
 * <p>Where the socket lives and who may open it: each grant gets its own directory under
 * {@code keymux.grants.directory} (default /tmp, which every uid can reach; a 0700
 * $XDG_RUNTIME_DIR is not). For root, or for keymux's own uid, socket and directory stay 0600/0700
 * (root passes file permissions anyway). For another uid the socket is open on the file level and
 * the kernel's peer credentials (SO_PEERCRED, checked on every connection) admit only the granted
 * uid and keymux's own; socket and directory always stay keymux's.
 */
public final class Grants implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Grants.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** What a grant needs from the daemon: the keys a connection sees, and a socket server. */
  interface Host {
    KeyListing keys(Session session) throws AgentException;

    List<String> backends();

    AgentServer serve(SocketSettings socket);

    /** The set of grant sockets changed: the policy must know them (or forget them) now. */
    void changed();
  }

  private record Live(Grant grant, SocketSettings socket, AgentServer server, ScheduledFuture<?> expiry) {}

  private final Path directory;
  private final Duration maxLifetime;
  private final ScheduledExecutorService timers;
  private final Clock clock;
  private final int ownUid = Posix.currentUid();
  private final Map<String, Live> live = new LinkedHashMap<>();
  private Host host;
  private boolean closed;

  Grants(Path directory, Duration maxLifetime, ScheduledExecutorService timers, Clock clock) {
    this.directory = directory;
    this.maxLifetime = maxLifetime;
    this.timers = timers;
    this.clock = clock;
  }

  void attach(Host host) {
    this.host = host;
  }

  /** The grant sockets, for the policy (which knows scoped sockets by name). */
  synchronized List<SocketSettings> sockets() {
    return live.values().stream().map(Live::socket).toList();
  }

  /** Extension {@value Grant#GRANT}: makes a grant and answers with it. */
  byte[] grant(Session session, byte[] contents) throws AgentException {
    String refused = checkCaller(session);
    if (refused != null) {
      return Grant.refused(refused);
    }
    Grant.Request req;
    try {
      req = Grant.Request.decode(contents);
    } catch (ProtocolException e) {
      throw AgentException.failed("malformed grant request: " + e.getMessage());
    }
    if (req.keys().isEmpty() || req.keys().stream().anyMatch(String::isBlank)) {
      return Grant.refused("name the keys to grant (--keys PATTERN): a grant never hands out every key by accident");
    }
    if (req.lifetime().isZero() || req.lifetime().compareTo(maxLifetime) > 0) {
      return Grant.refused("a grant lasts more than 0 and at most " + SshTime.format(maxLifetime)
          + " (keymux.grants.max-lifetime); asked for " + SshTime.format(req.lifetime()));
    }
    if (req.uid() < 0) {
      return Grant.refused("uid must not be negative: " + req.uid());
    }
    List<String> matched = new ArrayList<>();
    Set<String> available = new LinkedHashSet<>();
    SocketSettings probe = socket("probe", req, Path.of("/"));
    for (KeyListing.Key k : host.keys(session).keys()) {
      KeyFacts facts = KeyFacts.of(k.key(), List.of(k.comment()), List.of(k.backend()));
      if (probe.admits(facts)) {
        matched.add(Fingerprints.sha256(k.key().bytes()) + " " + k.comment());
      } else {
        available.add(k.comment().isEmpty() ? Fingerprints.sha256(k.key().bytes()) : k.comment());
      }
    }
    if (matched.isEmpty()) {
      return Grant.refused("no key matches " + String.join(", ", req.keys()) + (available.isEmpty()
          ? "; keymux holds no keys right now" : "; keys keymux holds: " + String.join(", ", available)));
    }
    Live made;
    synchronized (this) {
      if (closed) {
        return Grant.refused("keymux is stopping");
      }
      String id;
      do {
        id = HexFormat.of().formatHex(randomBytes());
      } while (live.containsKey(id));
      Path dir = directory.resolve("keymux-grant-" + id);
      SocketSettings s = socket("grant-" + id, req, dir.resolve("agent.sock"));
      AgentServer server = host.serve(s);
      try {
        server.start();
      } catch (IOException e) {
        server.closeForGood();
        return Grant.refused("cannot create the grant's socket in " + directory + ": " + e.getMessage());
      }
      Instant expires = clock.instant().plus(req.lifetime());
      String grantId = id;
      ScheduledFuture<?> expiry;
      try {
        expiry = timers.schedule(() -> end(grantId, "expired"), req.lifetime().toMillis(), TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        server.closeForGood();
        return Grant.refused("keymux is stopping");
      }
      made = new Live(new Grant(id, req.uid(), req.keys(), s.path(), expires, req.confirm(), matched), s, server, expiry);
      live.put(id, made);
    }
    host.changed();
    log.info("grant {}: uid {} may use {} ({} key(s)) through {} for {}{}", made.grant().id(), req.uid(),
        req.keys(), matched.size(), made.socket().path(), SshTime.format(req.lifetime()),
        req.confirm() ? ", confirming every signature" : "");
    return Grant.ok(made.grant()::write);
  }

  private static byte[] randomBytes() {
    byte[] b = new byte[4];
    RANDOM.nextBytes(b);
    return b;
  }

  /** Extension {@value Grant#GRANTS}: the live grants. */
  byte[] list(Session session, byte[] contents) {
    String refused = checkCaller(session);
    if (refused != null) {
      return Grant.refused(refused);
    }
    List<Grant> grants;
    synchronized (this) {
      grants = live.values().stream().map(Live::grant).toList();
    }
    return Grant.ok(w -> {
      w.writeUint32(grants.size());
      grants.forEach(g -> g.write(w));
    });
  }

  /** Extension {@value Grant#REVOKE}: ends the grant named (or all, for an empty name); answers with their ids. */
  byte[] revoke(Session session, byte[] contents) throws AgentException {
    String refused = checkCaller(session);
    if (refused != null) {
      return Grant.refused(refused);
    }
    String id;
    try {
      SshReader r = new SshReader(contents);
      id = r.readUtf8();
      r.expectEnd("revoke request");
    } catch (ProtocolException e) {
      throw AgentException.failed("malformed revoke request: " + e.getMessage());
    }
    List<String> ids;
    synchronized (this) {
      ids = id.isEmpty() ? List.copyOf(live.keySet()) : live.containsKey(id) ? List.of(id) : List.of();
    }
    if (ids.isEmpty() && !id.isEmpty()) {
      return Grant.refused("no live grant " + id + " (keymux grants lists them)");
    }
    ids.forEach(g -> end(g, "revoked"));
    return Grant.ok(w -> {
      w.writeUint32(ids.size());
      ids.forEach(w::writeString);
    });
  }

  /** Why this connection may not manage grants, or null if it may. */
  private String checkCaller(Session session) {
    if (session.peer().uid() != ownUid) {
      return "grants are made by the user keymux runs as (uid " + ownUid + "); this request came from uid "
          + session.peer().uid();
    }
    if (session.bindAttempted() || !session.bindings().isEmpty()) {
      return "grants are made locally, not through a forwarded or session-bound connection";
    }
    return null;
  }

  /**
   * The grant's socket. For root or keymux's own uid: 0600 in a 0700 directory (root passes file
   * permissions). For another uid: 0666 in a 0755 directory, both keymux's — never handed to the
   * grantee, who could otherwise swap the directory for a symlink that keymux (perhaps root)
   * would then chmod or clean up through — and the peer check admits only that uid and ours.
   * Group bits are open too: a grantee in keymux's group gets the group bits, not the others'.
   */
  private SocketSettings socket(String name, Grant.Request req, Path path) {
    int mode = req.uid() == ownUid || req.uid() == 0 ? 0600 : 0666;
    return new SocketSettings(name, path, mode, "", "", Set.of(req.uid()), Set.of(), req.lifetime(), host.backends(),
        req.keys(), req.confirm(), List.of());
  }

  private void end(String id, String why) {
    Live gone;
    synchronized (this) {
      gone = live.remove(id);
    }
    if (gone == null) {
      return;
    }
    gone.expiry().cancel(false);
    gone.server().closeForGood();
    host.changed();
    log.info("grant {} for uid {} {}; {} removed", id, gone.grant().uid(), why, gone.socket().path());
  }

  /** keymux stops: every grant ends, its socket and directory removed. */
  @Override
  public void close() {
    List<String> ids;
    synchronized (this) {
      closed = true;
      ids = List.copyOf(live.keySet());
    }
    ids.forEach(id -> end(id, "ended with keymux"));
  }
}
