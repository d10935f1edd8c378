package dev.keymux.cli.daemon;

import com.google.inject.AbstractModule;
import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.Module;
import com.google.inject.Provider;
import com.google.inject.TypeLiteral;
import dev.keymux.core.agent.BackendFactory;
import dev.keymux.core.agent.BackendModule;
import dev.keymux.core.agent.ProviderAllowlist;
import dev.keymux.core.keyring.KeyringDefaults;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Every backend type's factory, from the map binding the backend modules add to. The injector
 * needs no settings: what the factories take from them is handed over in {@link #of}, when they
 * are made. So {@code serve} starts building it on a thread of its own while the configuration
 * loads; Guice's first injector is one of the longest steps of a start (docs/architecture.md,
 * "Start-up and memory").
 */
final class BackendFactories {
  private record Inputs(KeyringDefaults defaults, ProviderAllowlist allowlist) {}

  private final AtomicReference<Inputs> inputs = new AtomicReference<>();
  private final FutureTask<Injector> injector = new FutureTask<>(this::build);

  private BackendFactories() {}

  /** Builds the injector when {@link #of} first needs it, on the caller's thread. */
  static BackendFactories onDemand() {
    return new BackendFactories();
  }

  /** Starts building the injector now, on a daemon thread. */
  static BackendFactories building() {
    BackendFactories factories = new BackendFactories();
    Thread thread = new Thread(factories.injector, "keymux-injector");
    thread.setDaemon(true);
    thread.start();
    return factories;
  }

  /** The factories by backend type; they are made once, with these settings. */
  Map<String, BackendFactory> of(KeyringDefaults defaults, ProviderAllowlist allowlist) {
    if (!inputs.compareAndSet(null, new Inputs(defaults, allowlist))) {
      throw new IllegalStateException("backend factories are made once");
    }
    injector.run(); // builds it here unless a thread has built it or is building it
    try {
      return injector.get().getInstance(Key.get(new TypeLiteral<Map<String, BackendFactory>>() {}));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while the backend modules were being set up", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  private Injector build() {
    List<Module> modules = new ArrayList<>(BackendModule.discover());
    modules.add(new AbstractModule() {
      @Override
      protected void configure() {
        bind(KeyringDefaults.class).toProvider((Provider<KeyringDefaults>) () -> given().defaults());
        bind(ProviderAllowlist.class).toProvider((Provider<ProviderAllowlist>) () -> given().allowlist());
      }
    });
    return Guice.createInjector(modules);
  }

  private Inputs given() {
    Inputs given = inputs.get();
    if (given == null) {
      throw new IllegalStateException("backend factories asked for before their settings were given");
    }
    return given;
  }
}
