package dev.keymux.backend.keyring;

import com.google.inject.Binder;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.keymux.backend.agent.UpstreamAgentBackend;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.BackendConfig;
import dev.keymux.core.agent.BackendFactory;
import dev.keymux.core.agent.BackendModule;
import dev.keymux.core.keyring.KeyringDefaults;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Contributes backend type {@code keyring}: the GNOME Keyring / gcr SSH agent as an upstream,
 * its socket found under {@code $XDG_RUNTIME_DIR} each time keymux connects.
 */
public final class KeyringBackendModule implements BackendModule {
  public static final String TYPE = "keyring";

  @Override
  public void configure(Binder binder) {
    BackendModule.factories(binder).addBinding(TYPE).to(Factory.class);
    // The desktop's secret store, for passphrases and PINs (used when a session bus exists).
    com.google.inject.multibindings.OptionalBinder.newOptionalBinder(binder, dev.keymux.core.prompt.SecretStore.class)
        .setDefault().to(SecretServiceStore.class);
  }

  /** Where GNOME's agent listens, newest first: gcr-ssh-agent (GNOME 43+), gnome-keyring <= 42. */
  static Supplier<Path> gnomeSocket(Map<String, String> env) {
    return () -> {
      String xdg = env.getOrDefault("XDG_RUNTIME_DIR", "");
      if (xdg.isEmpty()) {
        return Path.of("/nonexistent/XDG_RUNTIME_DIR-is-not-set/keyring/ssh");
      }
      Path gcr = Path.of(xdg, "gcr", "ssh");
      return Files.exists(gcr) ? gcr : Path.of(xdg, "keyring", "ssh");
    };
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
      Config c = BackendConfig.withDefaults(TYPE, name, settings);
      try {
        String socket = c.getString("socket");
        Supplier<Path> where = socket.isEmpty() ? gnomeSocket(defaults.askpassEnv()) : () -> Path.of(socket);
        Duration timeout = c.getDuration("request-timeout");
        return new UpstreamAgentBackend(name, where, timeout, Duration.ofSeconds(1), Duration.ofSeconds(30), Clock.systemUTC());
      } catch (ConfigException e) {
        throw new IllegalArgumentException("backend " + name + ": " + e.getMessage(), e);
      }
    }
  }
}
