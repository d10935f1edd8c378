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
import java.util.Optional;
import com.google.inject.multibindings.OptionalBinder;
import dev.keymux.core.prompt.SecretStore;

/** Contributes backend type {@code file}: private key files on disk. */
public final class FileBackendModule implements BackendModule {
  public static final String TYPE = "file";

  @Override
  public void configure(Binder binder) {
    BackendModule.factories(binder).addBinding(TYPE).to(Factory.class);
    // Declared here without a default: present when a module (backend-keyring) provides one.
    OptionalBinder.newOptionalBinder(binder, SecretStore.class);
  }

  static final class Factory implements BackendFactory {
    private final KeyringDefaults defaults;
    private final Optional<SecretStore> secrets;

    @Inject
    Factory(KeyringDefaults defaults, Optional<SecretStore> secrets) {
      this.defaults = defaults;
      this.secrets = secrets;
    }

    @Override
    public String type() {
      return TYPE;
    }

    @Override
    public Backend create(String name, Config settings) {
      FileBackendSettings s = FileBackendSettings.from(name, settings);
      Path home = Path.of(defaults.askpassEnv().getOrDefault("HOME", System.getProperty("user.home")));
      PassphraseSource typed = new PromptedPassphraseSource(defaults.prompter());
      PassphraseSource source = secrets.<PassphraseSource>map(store -> new StoredPassphraseSource(store, typed,
          s.rememberPassphrases(), defaults.prompter())).orElse(typed);
      FileKeyBackend backend = new FileKeyBackend(name, s, source, Clock.systemUTC(), home,
          SecurityKeyFiles.from(s.skProvider(), defaults.askpassEnv(), defaults.prompter()));
      backend.start();
      return backend;
    }
  }
}
