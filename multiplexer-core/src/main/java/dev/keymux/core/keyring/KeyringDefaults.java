package dev.keymux.core.keyring;

import dev.keymux.core.prompt.Prompter;
import dev.keymux.core.prompt.Prompts;
import java.time.Duration;
import java.util.Map;

/**
 * Agent-wide settings backends need: the lifetime given to keys added without one
 * ({@code keymux agent -t}; zero = forever), how long a prompt may wait, the environment keymux
 * runs in (and the programs it starts), the fingerprint hash for logs ({@code -E}), and the prompt
 * layer every backend asks through ({@code keymux.prompt}).
 */
public record KeyringDefaults(Duration defaultLifetime, Duration confirmTimeout, Map<String, String> askpassEnv,
    String fingerprintHash, Prompter prompter) {
  public KeyringDefaults {
    askpassEnv = Map.copyOf(askpassEnv);
  }

  /** Asking only through the askpass program (tests, and callers without a configured prompt). */
  public KeyringDefaults(Duration defaultLifetime, Duration confirmTimeout, Map<String, String> askpassEnv,
      String fingerprintHash) {
    this(defaultLifetime, confirmTimeout, askpassEnv, fingerprintHash, Prompts.askpassOnly(askpassEnv, confirmTimeout));
  }

  public KeyringDefaults(Duration defaultLifetime, Duration confirmTimeout, Map<String, String> askpassEnv) {
    this(defaultLifetime, confirmTimeout, askpassEnv, "sha256");
  }
}
