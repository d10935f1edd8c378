package dev.keymux.core.keyring;

import java.time.Duration;
import java.util.Map;

/**
 * Agent-wide settings the in-memory keyring needs: the lifetime given to keys added without one
 * ({@code keymux agent -t}; zero = forever), how long a confirm prompt may take, and the
 * environment the askpass program runs in.
 */
public record KeyringDefaults(Duration defaultLifetime, Duration confirmTimeout, Map<String, String> askpassEnv) {
  public KeyringDefaults {
    askpassEnv = Map.copyOf(askpassEnv);
  }
}
