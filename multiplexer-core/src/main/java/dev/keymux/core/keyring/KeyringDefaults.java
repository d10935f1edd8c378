package dev.keymux.core.keyring;

import java.time.Duration;
import java.util.Map;

/**
 * Agent-wide settings the in-memory keyring needs: the lifetime given to keys added without one
 * ({@code keymux agent -t}; zero = forever), how long a confirm prompt may take, the environment
 * the askpass program runs in, and the fingerprint hash for logs ({@code -E}).
 */
public record KeyringDefaults(Duration defaultLifetime, Duration confirmTimeout, Map<String, String> askpassEnv,
    String fingerprintHash) {
  public KeyringDefaults {
    askpassEnv = Map.copyOf(askpassEnv);
  }

  public KeyringDefaults(Duration defaultLifetime, Duration confirmTimeout, Map<String, String> askpassEnv) {
    this(defaultLifetime, confirmTimeout, askpassEnv, "sha256");
  }
}
