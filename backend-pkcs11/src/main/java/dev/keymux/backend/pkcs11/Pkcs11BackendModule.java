package dev.keymux.backend.pkcs11;

import com.google.inject.Binder;
import com.typesafe.config.Config;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.BackendFactory;
import dev.keymux.core.agent.BackendModule;
import dev.keymux.core.agent.ProviderAllowlist;
import dev.keymux.core.keyring.KeyringDefaults;
import jakarta.inject.Inject;

/** Contributes backend type {@code pkcs11}: keys on PKCS#11 tokens. */
public final class Pkcs11BackendModule implements BackendModule {
  public static final String TYPE = "pkcs11";

  /** Type of the backend that holds tokens added with {@code ssh-add -s}. */
  public static final String ADDED_TYPE = "pkcs11-added";

  @Override
  public void configure(Binder binder) {
    BackendModule.factories(binder).addBinding(TYPE).to(Factory.class);
    BackendModule.factories(binder).addBinding(ADDED_TYPE).to(AddedFactory.class);
    com.google.inject.multibindings.OptionalBinder.newOptionalBinder(binder, dev.keymux.core.prompt.SecretStore.class);
  }

  static final class AddedFactory implements BackendFactory {
    private final ProviderAllowlist allowlist;
    private final KeyringDefaults defaults;

    @Inject
    AddedFactory(ProviderAllowlist allowlist, KeyringDefaults defaults) {
      this.allowlist = allowlist;
      this.defaults = defaults;
    }

    @Override
    public String type() {
      return ADDED_TYPE;
    }

    @Override
    public Backend create(String name, Config settings) {
      java.util.Set<String> unknown = new java.util.TreeSet<>(settings.root().keySet());
      unknown.remove("type");
      if (!unknown.isEmpty()) {
        throw new IllegalArgumentException("backend " + name + ": unknown setting(s) " + unknown
            + " (the allowlist is keymux.pkcs11.allowed-modules)");
      }
      return new Pkcs11ProvidersBackend(name, allowlist, defaults, defaults.prompter(), java.time.Clock.systemUTC());
    }
  }

  static final class Factory implements BackendFactory {
    private final KeyringDefaults defaults;
    private final java.util.Optional<dev.keymux.core.prompt.SecretStore> secrets;

    @Inject
    Factory(KeyringDefaults defaults, java.util.Optional<dev.keymux.core.prompt.SecretStore> secrets) {
      this.defaults = defaults;
      this.secrets = secrets;
    }

    @Override
    public String type() {
      return TYPE;
    }

    @Override
    public Backend create(String name, Config settings) {
      Pkcs11Settings s = Pkcs11Settings.from(name, settings);
      return new Pkcs11Backend(name, s, PinSource.of(s.pin(), defaults.askpassEnv(), defaults.prompter(), secrets), true);
    }
  }
}
