package dev.keymux.backend.pkcs11;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.keymux.core.agent.BackendConfig;

/** The settings of one `pkcs11` backend, read eagerly; defaults come from reference.conf. */
record Pkcs11Settings(String module, String token, String pin, java.util.List<String> keys, java.time.Duration pinCache) {

  /** Settings for a token added with ssh-add -s: every key, logged in until removal. */
  static Pkcs11Settings added(String module, String token) {
    return new Pkcs11Settings(module, token, "askpass", java.util.List.of(), java.time.Duration.ZERO);
  }

  /** True when {@code label} or {@code hexId} is selected by {@code keys}. */
  boolean selects(String label, String hexId) {
    return keys.isEmpty() || keys.contains(label) || keys.stream().anyMatch(k -> k.equalsIgnoreCase(hexId));
  }

  static Pkcs11Settings from(String name, Config block) {
    Config c = BackendConfig.withDefaults("pkcs11", name, block);
    try {
      String module = c.getString("module");
      if (module.isEmpty()) {
        throw new IllegalArgumentException("backend " + name + ": module is required (the path of the PKCS#11 library)");
      }
      String pin = c.getString("pin");
      if (!pin.equals("askpass") && !pin.equals("keyring") && !pin.startsWith("env:") && !pin.startsWith("file:")) {
        throw new IllegalArgumentException("backend " + name + ": pin must be askpass, keyring, env:NAME or file:PATH, not '" + pin + "'");
      }
      java.time.Duration pinCache = c.getString("pin-cache").equalsIgnoreCase("forever")
          ? java.time.Duration.ZERO : c.getDuration("pin-cache");
      if (pinCache.isNegative()) {
        throw new IllegalArgumentException("backend " + name + ": pin-cache must not be negative");
      }
      return new Pkcs11Settings(module, c.getString("token"), pin, java.util.List.copyOf(c.getStringList("keys")), pinCache);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("backend " + name + ": " + e.getMessage(), e);
    }
  }
}
