package dev.keymux.cli.daemon;

import dev.keymux.cli.SshTime;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.config.policy.AuditLog;
import dev.keymux.config.policy.PolicySettings;
import dev.keymux.config.policy.RulePolicy;
import dev.keymux.config.policy.SocketSettings;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.BackendFactory;
import dev.keymux.core.agent.ProviderAllowlist;
import dev.keymux.core.agent.Session;
import dev.keymux.core.concurrent.DaemonThreads;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.mux.KeyListing;
import dev.keymux.core.mux.Multiplexer;
import dev.keymux.core.prompt.Prompter;
import dev.keymux.core.prompt.Prompts;
import dev.keymux.core.prompt.Requester;
import dev.keymux.core.prompt.SignNotifier;
import dev.keymux.core.server.AgentLock;
import dev.keymux.core.server.AgentServer;
import dev.keymux.core.server.RequestDispatcher;
import dev.keymux.core.server.SocketAccess;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.ProtocolException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running agent: backends built from configuration through the Guice-bound factories, the
 * multiplexer over them, the policy it asks, the main socket and the scoped sockets. Nothing is
 * opened while the injector is built; {@link #start()} does that afterwards.
 */
public final class Daemon implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Daemon.class);

  private final Path socketPath;
  private final Multiplexer multiplexer;
  private final AgentServer server;
  private final List<AgentServer> scoped = new ArrayList<>();
  private final CountDownLatch stopped = new CountDownLatch(1);
  /** The one prompt layer: backends and the policy ask through it (keymux.prompt, fixed until restart). */
  private final Prompts prompts;
  private final Map<String, String> env;
  private volatile SignNotifier notifier; // started with the first policy that has keymux.notify = true
  private final AtomicReference<RulePolicy> policy = new AtomicReference<>();
  /** Remembered confirmations outlive reloads: editing an unrelated rule must not re-ask. */
  private final Map<String, Instant> remembered = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timers = DaemonThreads.scheduler("keymux-timers");
  private final PolicyReloader reloader;
  private final Grants grants;
  private volatile KeymuxSettings settings;
  private volatile AuditLog audit = AuditLog.OFF;
  /** Policy rebuilds (reloads, grants made and ended) one at a time. */
  private final Object policyLock = new Object();

  /**
   * @param reload loads the configuration afresh (for SIGHUP and the file watch)
   * @param configFile the file to watch, if there is one
   */
  public Daemon(KeymuxSettings settings, Path socketPath, Map<String, String> env, Supplier<KeymuxSettings> reload,
      Optional<Path> configFile) {
    this(settings, socketPath, env, reload, configFile, Optional.empty(), List.of(), BackendFactories.onDemand());
  }

  /**
   * @param activated the main socket when systemd passed one; {@code socketPath} is then unused
   * @param preloaded backends built outside the configuration (keys given at start), asked first
   * @param factories where the configured backends' types come from (built ahead by serve)
   */
  Daemon(KeymuxSettings settings, Path socketPath, Map<String, String> env, Supplier<KeymuxSettings> reload,
      Optional<Path> configFile, Optional<AFUNIXServerSocket> activated, List<Backend> preloaded,
      BackendFactories factories) {
    this.settings = settings;
    this.env = Map.copyOf(env);
    // Confirm questions name the client and destination the way the policy in force sees them.
    prompts = new Prompts(settings.prompt(), env, settings.confirmTimeout(), session -> policy.get().requester(session));
    List<Backend> backends = new ArrayList<>(preloaded);
    backends.addAll(buildBackends(settings, env, prompts, factories));
    StartupTrace.mark("backends");
    Backend addTarget = null;
    Backend extensionTarget = null;
    for (Backend backend : backends) {
      if (backend.name().equals(settings.addTarget())) {
        addTarget = backend;
      }
      if (backend.name().equals(settings.extensionTarget())) {
        extensionTarget = backend;
      }
    }
    grants = new Grants(settings.grantsDirectory(), settings.grantsMaxLifetime(), timers, Clock.systemUTC());
    policy.set(buildPolicy(settings));
    multiplexer = new Multiplexer(backends, addTarget, extensionTarget, settings.backendTimeout(), settings.signTimeout(),
        policy::get);
    RequestDispatcher dispatcher = new RequestDispatcher(multiplexer, new AgentLock(settings.lockMaxDelay()),
        multiplexer::onLock, multiplexer::mayManage);
    if (activated.isPresent()) {
      try {
        server = AgentServer.adopting(RulePolicy.MAIN_SOCKET, activated.get(), dispatcher, settings.maxConnections(),
            settings.allowedUids());
      } catch (IOException e) {
        throw new IllegalArgumentException("the socket systemd passed has no usable address: " + e.getMessage(), e);
      }
    } else {
      server = new AgentServer(RulePolicy.MAIN_SOCKET, socketPath, dispatcher, settings.maxConnections(),
          settings.allowedUids());
    }
    this.socketPath = server.socketPath();
    for (SocketSettings s : settings.policy().sockets()) {
      scoped.add(new AgentServer(s.name(), s.path(), dispatcher, settings.maxConnections(), access(s)));
    }
    grants.attach(new Grants.Host() {
      @Override
      public KeyListing keys(Session session) throws AgentException {
        AgentResponse r = multiplexer.extension(session, AgentProtocol.EXT_KEYMUX_LIST, new byte[0]);
        try {
          return KeyListing.decode(((AgentResponse.ExtensionResponse) r).contents());
        } catch (ProtocolException e) {
          throw AgentException.failed("cannot read the key listing: " + e.getMessage());
        }
      }

      @Override
      public List<String> backends() {
        return multiplexer.backends().stream().map(Backend::name).toList();
      }

      @Override
      public AgentServer serve(SocketSettings socket) {
        return new AgentServer(socket.name(), socket.path(), dispatcher, Daemon.this.settings.maxConnections(),
            access(socket));
      }

      @Override
      public void changed() {
        synchronized (policyLock) { // not between a reload's settings and its policy
          policy.set(rulePolicy(Daemon.this.settings));
        }
      }
    });
    multiplexer.addOwnerExtension(Grant.GRANT, grants::grant);
    multiplexer.addOwnerExtension(Grant.GRANTS, grants::list);
    multiplexer.addOwnerExtension(Grant.REVOKE, grants::revoke);
    reloader = new PolicyReloader(reload, this::apply, configFile, () -> this.settings.policy().watch());
  }

  /**
   * Every configured backend, built by its type's factory. Factories check their own settings;
   * nothing is opened yet. Throws IllegalArgumentException with every backend's problems.
   */
  public static List<Backend> buildBackends(KeymuxSettings settings, Map<String, String> env) {
    return buildBackends(settings, env, new Prompts(settings.prompt(), env, settings.confirmTimeout(), Requester::basic),
        BackendFactories.onDemand());
  }

  static List<Backend> buildBackends(KeymuxSettings settings, Map<String, String> env, Prompter prompter,
      BackendFactories types) {
    KeyringDefaults defaults = new KeyringDefaults(settings.defaultKeyLifetime(), settings.confirmTimeout(), env,
        settings.fingerprintHash(), prompter);
    Map<String, BackendFactory> factories = types.of(defaults, new ProviderAllowlist(settings.pkcs11AllowedModules()));
    StartupTrace.mark("injector");
    List<Backend> backends = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (KeymuxSettings.BackendSettings b : settings.backends()) {
      BackendFactory factory = factories.get(b.type());
      if (factory == null) {
        problems.add("backend " + b.name() + ": unknown type '" + b.type() + "' (known types: "
            + String.join(", ", new TreeSet<>(factories.keySet())) + ")");
        continue;
      }
      try {
        backends.add(factory.create(b.name(), b.settings()));
      } catch (IllegalArgumentException | com.typesafe.config.ConfigException e) {
        problems.add(e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      closeAll(backends);
      throw new IllegalArgumentException(String.join("\n", problems));
    }
    return backends;
  }

  public static void closeAll(List<Backend> backends) {
    for (Backend b : backends) {
      try {
        b.close();
      } catch (Exception e) {
        log.debug("closing backend {} failed", b.name(), e);
      }
    }
  }

  /** How keymux sets up a scoped socket: its mode, owner, group and allowed peers, alone in its directory. */
  public static SocketAccess access(SocketSettings s) {
    return new SocketAccess(s.mode(), s.owner(), s.group(), s.allowUids(), s.allowGids(), true, false);
  }

  /**
   * The policy of {@code s}, with its audit log opened (the previous one stays open for the
   * policy still in force; {@link #apply} closes it once the new policy is in place).
   */
  private RulePolicy buildPolicy(KeymuxSettings s) {
    String target = s.policy().auditLog();
    try {
      audit = target.isEmpty() ? AuditLog.OFF
          : AuditLog.open(target.startsWith("~/") ? System.getProperty("user.home") + target.substring(1) : target,
              Clock.systemUTC());
    } catch (IOException e) {
      throw new IllegalArgumentException("keymux.policy.audit-log: cannot open " + target + ": " + e.getMessage(), e);
    }
    return rulePolicy(s);
  }

  /** The rules of {@code s}, with the configured scoped sockets and the live grants' sockets. */
  private RulePolicy rulePolicy(KeymuxSettings s) {
    PolicySettings p = s.policy();
    List<SocketSettings> sockets = new ArrayList<>(p.sockets());
    sockets.addAll(grants.sockets());
    PolicySettings withGrants = new PolicySettings(p.rules(), p.defaultAction(), p.knownHosts(), p.auditLog(), p.watch(),
        sockets);
    return new RulePolicy(withGrants, prompts, audit, notifier(s), Clock.systemDefaultZone(), Path.of("/proc"),
        remembered);
  }

  /** Notifications when the settings want them; notify-send is looked up once, on first need. */
  private SignNotifier notifier(KeymuxSettings s) {
    if (!s.notifyOnSign()) {
      return SignNotifier.OFF;
    }
    if (notifier == null) {
      notifier = SignNotifier.using(env);
    }
    return notifier;
  }

  /**
   * Takes a reloaded configuration: rules, socket key filters and confirm settings apply to the
   * next request. What lives in open sockets and running backends (paths, permissions, the
   * backends themselves) needs a restart, and the log says so.
   */
  private void apply(KeymuxSettings next) {
    synchronized (policyLock) {
      applyLocked(next);
    }
  }

  private void applyLocked(KeymuxSettings next) {
    AuditLog previous = audit;
    RulePolicy built;
    try {
      built = buildPolicy(next);
    } catch (IllegalArgumentException e) {
      audit = previous;
      log.error("configuration rejected, the running policy stays: {}", e.getMessage());
      return;
    }
    List<String> needRestart = new ArrayList<>();
    if (!next.backends().stream().map(b -> b.name() + b.settings().root().render())
        .toList().equals(settings.backends().stream().map(b -> b.name() + b.settings().root().render()).toList())) {
      needRestart.add("backends");
    }
    if (!next.socketPath().equals(settings.socketPath())) {
      needRestart.add("keymux.socket.path");
    }
    List<String> before = settings.policy().sockets().stream().map(Daemon::socketShape).toList();
    List<String> after = next.policy().sockets().stream().map(Daemon::socketShape).toList();
    if (!before.equals(after)) {
      needRestart.add("socket paths, permissions or allowed peers");
    }
    if (next.prompt() != prompts.mode()) {
      needRestart.add("keymux.prompt");
    }
    settings = next;
    policy.set(built);
    if (previous != audit) {
      previous.close();
    }
    log.info("policy reloaded: {} rule(s), {} scoped socket(s){}", next.policy().rules().size(),
        next.policy().sockets().size(), needRestart.isEmpty() ? ""
            : "; restart keymux to apply changes to " + String.join(", ", needRestart));
  }

  private static String socketShape(SocketSettings s) {
    return String.join("|", s.name(), s.path().toString(), Integer.toOctalString(s.mode()), s.owner(), s.group(),
        new TreeSet<>(s.allowUids()).toString(), new TreeSet<>(s.allowGids()).toString(), s.expires().toString());
  }

  Path socketPath() {
    return socketPath;
  }

  void start() throws IOException {
    server.start();
    for (AgentServer s : scoped) {
      s.start();
    }
    for (SocketSettings s : settings.policy().sockets()) {
      if (!s.expires().isZero()) {
        AgentServer srv = scoped.stream().filter(a -> a.socketPath().equals(s.path())).findFirst().orElseThrow();
        timers.schedule(() -> {
          log.info("socket {} expired after {}; removed", s.name(), SshTime.format(s.expires()));
          srv.closeForGood();
        }, s.expires().toMillis(), TimeUnit.MILLISECONDS);
      }
      log.info("scoped socket {} at {}: backends {}{}{}", s.name(), s.path(), s.backends(),
          s.keys().isEmpty() ? "" : ", keys " + s.keys(), s.expires().isZero() ? "" : ", expires in " + SshTime.format(s.expires()));
    }
    reloader.start();
    Duration idleExit = settings.idleExit();
    if (server.adopted() && !idleExit.isZero()) {
      long every = Math.max(100, Math.min(idleExit.toMillis() / 4, 10_000));
      timers.scheduleWithFixedDelay(() -> exitIfIdle(idleExit), every, every, TimeUnit.MILLISECONDS);
    }
    log.info("keymux serving {} backend(s): {}", multiplexer.backends().size(),
        multiplexer.backends().stream().map(Backend::name).toList());
  }

  /**
   * Ends {@link #awaitStop()} once no socket has had a connection for {@code idleExit}; serve
   * then exits and the shutdown hook closes everything. The listening socket stays systemd's, so
   * a client connecting meanwhile waits in its backlog for the next keymux.
   */
  private void exitIfIdle(Duration idleExit) {
    if (!grants.sockets().isEmpty()) {
      return; // exiting would end the grants before their time
    }
    Duration idle = server.idle();
    for (AgentServer s : scoped) {
      Duration d = s.idle();
      idle = d.compareTo(idle) < 0 ? d : idle;
    }
    if (idle.compareTo(idleExit) >= 0) {
      log.info("no connection for {} (keymux.idle-exit); exiting, systemd starts keymux again on the next one",
          SshTime.format(idleExit));
      stopped.countDown();
    }
  }

  /** Blocks until {@link #close()} runs (from the shutdown hook on SIGTERM/SIGINT). */
  void awaitStop() throws InterruptedException {
    stopped.await();
  }

  @Override
  public void close() {
    reloader.close();
    grants.close();
    timers.shutdownNow();
    scoped.forEach(AgentServer::close);
    server.close();
    multiplexer.close();
    audit.close();
    if (notifier != null) {
      notifier.close();
    }
    stopped.countDown();
  }

  /** For tests of reload: the policy now in force. */
  public RulePolicy policy() {
    return Objects.requireNonNull(policy.get());
  }
}
