package dev.keymux.backend.keyring;

import com.google.inject.Binder;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.keymux.backend.agent.UpstreamAgentBackend;
import dev.keymux.backend.agent.UpstreamTimeouts;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.BackendConfig;
import dev.keymux.core.agent.BackendFactory;
import dev.keymux.core.agent.BackendModule;
import dev.keymux.core.keyring.KeyringDefaults;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Stream;

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

  /** The health detail while no GNOME agent socket exists. */
  static final String NOT_RUNNING = "GNOME Keyring not running";

  /**
   * Where GNOME's agent listens now, newest first: gcr-ssh-agent (GNOME 43+,
   * {@code $XDG_RUNTIME_DIR/gcr/ssh}), else gnome-keyring <= 42 ({@code keyring/ssh}); empty when
   * neither exists or XDG_RUNTIME_DIR is not set.
   */
  static Supplier<Optional<Path>> gnomeSocket(Map<String, String> env) {
    return () -> {
      String xdg = env.getOrDefault("XDG_RUNTIME_DIR", "");
      if (xdg.isEmpty()) {
        return Optional.empty();
      }
      return Stream.of(Path.of(xdg, "gcr", "ssh"), Path.of(xdg, "keyring", "ssh"))
          .filter(p -> Files.exists(p, LinkOption.NOFOLLOW_LINKS)).findFirst();
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
      UpstreamTimeouts timeouts = UpstreamTimeouts.from(name, c);
      String socket;
      try {
        socket = c.getString("socket");
      } catch (ConfigException e) {
        throw new IllegalArgumentException("backend " + name + ": " + e.getMessage(), e);
      }
      Supplier<Optional<Path>> where = socket.isEmpty() ? gnomeSocket(defaults.askpassEnv())
          : () -> Optional.of(Path.of(socket));
      return new UpstreamAgentBackend(name, where, NOT_RUNNING, timeouts, Clock.systemUTC());
    }
  }
}
