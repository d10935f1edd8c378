package dev.keymux.core.agent;

import com.google.inject.Module;
import com.google.inject.multibindings.MapBinder;
import java.util.List;
import java.util.ServiceLoader;

/**
 * A Guice module that contributes one backend type. Implementations are listed in
 * {@code META-INF/services/dev.keymux.core.agent.BackendModule} and add their factory with
 * {@link #factories}; core never names a backend. Modules only bind — nothing opens sockets or
 * tokens while the injector is built.
 */
public interface BackendModule extends Module {

  /** The map binding all backend modules add to, keyed by backend type. */
  static MapBinder<String, BackendFactory> factories(com.google.inject.Binder binder) {
    return MapBinder.newMapBinder(binder, String.class, BackendFactory.class);
  }

  /** Every backend module on the class path. */
  static List<BackendModule> discover() {
    return ServiceLoader.load(BackendModule.class).stream().map(ServiceLoader.Provider::get).toList();
  }
}
