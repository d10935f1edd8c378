package dev.keymux.cli;

import com.google.inject.AbstractModule;
import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.Module;
import com.google.inject.TypeLiteral;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.BackendFactory;
import dev.keymux.core.agent.BackendModule;
import dev.keymux.core.agent.ProviderAllowlist;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.mux.Multiplexer;
import dev.keymux.core.server.AgentLock;
import dev.keymux.core.server.AgentServer;
import dev.keymux.core.server.RequestDispatcher;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running agent: backends built from configuration through the Guice-bound factories, the
 * multiplexer over them, and the socket server. Nothing is opened while the injector is built;
 * {@link #start()} does that afterwards.
 */
final class Daemon implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Daemon.class);

  private final KeymuxSettings settings;
  private final Path socketPath;
  private final Multiplexer multiplexer;
  private final AgentServer server;
  private final CountDownLatch stopped = new CountDownLatch(1);

  Daemon(KeymuxSettings settings, Path socketPath, Map<String, String> env) {
    this.settings = settings;
    this.socketPath = socketPath;
    KeyringDefaults defaults = new KeyringDefaults(settings.defaultKeyLifetime(), settings.confirmTimeout(), env,
        settings.fingerprintHash());
    List<Module> modules = new ArrayList<>(BackendModule.discover());
    modules.add(new AbstractModule() {
      @Override
      protected void configure() {
        bind(KeyringDefaults.class).toInstance(defaults);
        bind(ProviderAllowlist.class).toInstance(new ProviderAllowlist(settings.pkcs11AllowedModules()));
      }
    });
    Injector injector = Guice.createInjector(modules);
    Map<String, BackendFactory> factories = injector.getInstance(Key.get(new TypeLiteral<Map<String, BackendFactory>>() {}));

    List<Backend> backends = new ArrayList<>();
    Backend addTarget = null;
    for (KeymuxSettings.BackendSettings b : settings.backends()) {
      BackendFactory factory = factories.get(b.type());
      if (factory == null) {
        throw new IllegalArgumentException("backend " + b.name() + ": unknown type '" + b.type() + "' (known types: "
            + String.join(", ", new TreeSet<>(factories.keySet())) + ")");
      }
      Backend backend = factory.create(b.name(), b.settings());
      backends.add(backend);
      if (b.name().equals(settings.addTarget())) {
        addTarget = backend;
      }
    }
    multiplexer = new Multiplexer(backends, addTarget, settings.backendTimeout(), settings.signTimeout());
    RequestDispatcher dispatcher = new RequestDispatcher(multiplexer, new AgentLock(settings.lockMaxDelay()), multiplexer::onLock);
    server = new AgentServer("main", socketPath, dispatcher, settings.maxConnections(), settings.allowedUids());
  }

  Path socketPath() {
    return socketPath;
  }

  void start() throws IOException {
    server.start();
    log.info("keymux serving {} backend(s): {}", multiplexer.backends().size(),
        multiplexer.backends().stream().map(Backend::name).toList());
  }

  /** Blocks until {@link #close()} runs (from the shutdown hook on SIGTERM/SIGINT). */
  void awaitStop() throws InterruptedException {
    stopped.await();
  }

  @Override
  public void close() {
    server.close();
    multiplexer.close();
    stopped.countDown();
  }
}
