package dev.keymux.backend.agent;

import com.google.inject.Binder;
import com.typesafe.config.Config;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.BackendFactory;
import dev.keymux.core.agent.BackendModule;
import dev.keymux.core.keyring.KeyringDefaults;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Clock;

/** Contributes backend type {@code agent}: another agent's socket as an upstream. */
public final class AgentBackendModule implements BackendModule {
  public static final String TYPE = "agent";

  @Override
  public void configure(Binder binder) {
    BackendModule.factories(binder).addBinding(TYPE).to(Factory.class);
  }

  static final class Factory implements BackendFactory {
    private final KeyringDefaults defaults;

    @Inject
    Factory(KeyringDefaults defaults) {
      this.defaults = defaults;
    }

    @Override
    public String type() {
      return TYPE;
    }

    @Override
    public Backend create(String name, Config settings) {
      Path home = Path.of(defaults.askpassEnv().getOrDefault("HOME", System.getProperty("user.home")));
      return new UpstreamAgentBackend(name, UpstreamSettings.from(name, settings, home, defaults.askpassEnv()), Clock.systemUTC());
    }
  }
}
