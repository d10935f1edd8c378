package dev.keymux.core.keyring;

import com.google.inject.Binder;
import com.typesafe.config.Config;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.BackendConfig;
import dev.keymux.core.agent.BackendFactory;
import dev.keymux.core.agent.BackendModule;
import dev.keymux.core.agent.ProviderAllowlist;
import jakarta.inject.Inject;

/** Contributes backend type {@code memory}: the keyring for keys added with ssh-add. */
public final class KeyringBackendModule implements BackendModule {
  public static final String TYPE = "memory";

  @Override
  public void configure(Binder binder) {
    BackendModule.factories(binder).addBinding(TYPE).to(Factory.class);
  }

  /**
   * Needs the agent-wide {@link KeyringDefaults} and the provider allowlist (FIDO middleware for
   * security keys, as for PKCS#11), which the application binds.
   */
  static final class Factory implements BackendFactory {
    private final KeyringDefaults defaults;
    private final ProviderAllowlist providers;

    @Inject
    Factory(KeyringDefaults defaults, ProviderAllowlist providers) {
      this.defaults = defaults;
      this.providers = providers;
    }

    /** With OpenSSH's default allowlist (tests). */
    Factory(KeyringDefaults defaults) {
      this(defaults, new ProviderAllowlist(ProviderAllowlist.OPENSSH_DEFAULT));
    }

    @Override
    public String type() {
      return TYPE;
    }

    /** The block has no settings besides its type; anything else is refused with file: line. */
    @Override
    public Backend create(String name, Config settings) {
      BackendConfig.withDefaults(TYPE, name, settings);
      return new InMemoryKeyring(name, defaults, providers);
    }
  }
}
