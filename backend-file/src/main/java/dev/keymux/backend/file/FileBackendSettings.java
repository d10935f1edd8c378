package dev.keymux.backend.file;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.keymux.core.agent.BackendConfig;
import java.time.Duration;
import java.util.List;

/** The settings of one `file` backend, read eagerly; defaults come from reference.conf. */
record FileBackendSettings(List<String> paths, Duration unlockFor, boolean forever, boolean watch, int passphraseAttempts,
    String rememberPassphrases, String skProvider) {

  FileBackendSettings(List<String> paths, Duration unlockFor, boolean forever, boolean watch, int passphraseAttempts,
      String rememberPassphrases) {
    this(paths, unlockFor, forever, watch, passphraseAttempts, rememberPassphrases, "");
  }

  FileBackendSettings(List<String> paths, Duration unlockFor, boolean forever, boolean watch, int passphraseAttempts) {
    this(paths, unlockFor, forever, watch, passphraseAttempts, "never");
  }

  static FileBackendSettings from(String name, Config block) {
    Config c = BackendConfig.withDefaults("file", name, block);
    try {
      boolean forever = c.getValue("unlock-for").unwrapped().toString().equalsIgnoreCase("forever");
      Duration unlockFor = forever ? Duration.ZERO : c.getDuration("unlock-for");
      if (unlockFor.isNegative()) {
        throw new IllegalArgumentException("backend " + name + ": unlock-for must not be negative");
      }
      int attempts = c.getInt("passphrase-attempts");
      if (attempts < 1) {
        throw new IllegalArgumentException("backend " + name + ": passphrase-attempts must be at least 1");
      }
      List<String> paths = c.getStringList("paths");
      String remember = c.getString("remember-passphrases");
      if (!List.of("ask", "always", "never").contains(remember)) {
        throw new IllegalArgumentException("backend " + name + ": remember-passphrases must be ask, always or never");
      }
      return new FileBackendSettings(List.copyOf(paths), unlockFor, forever, c.getBoolean("watch"), attempts, remember,
          c.getString("sk-provider"));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("backend " + name + ": " + e.getMessage(), e);
    }
  }
}
