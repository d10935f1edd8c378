package dev.keymux.backend.file;

import com.google.inject.Binder;
import com.typesafe.config.Config;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.BackendFactory;
import dev.keymux.core.agent.BackendModule;
import dev.keymux.core.keyring.KeyringDefaults;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Clock;

/** Contributes backend type {@code file}: private key files on disk. */
public final class FileBackendModule implements BackendModule {
  public static final String TYPE = "file";

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
      FileBackendSettings s = FileBackendSettings.from(name, settings);
      Path home = Path.of(defaults.askpassEnv().getOrDefault("HOME", System.getProperty("user.home")));
      FileKeyBackend backend = new FileKeyBackend(name, s,
          new AskpassPassphraseSource(defaults.askpassEnv(), defaults.confirmTimeout()), Clock.systemUTC(), home);
      backend.start();
      return backend;
    }
  }
}
