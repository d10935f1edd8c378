package dev.keymux.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.keymux.config.ConfigLoader;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.core.server.Posix;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/** Loads settings and applies command-line overrides on top of the configuration file. */
public final class Settings {
  private Settings() {}

  public static KeymuxSettings load(Path configFile, Map<String, Object> overrides) {
    Map<String, String> env = System.getenv();
    int uid = Posix.currentUid();
    try {
      KeymuxSettings loaded = ConfigLoader.load(Optional.ofNullable(configFile), env, uid);
      if (overrides.isEmpty()) {
        return loaded;
      }
      Config o = ConfigFactory.empty();
      for (Map.Entry<String, Object> e : overrides.entrySet()) {
        o = o.withValue(e.getKey(), ConfigValueFactory.fromAnyRef(e.getValue(), "command line"));
      }
      return KeymuxSettings.from(o.withFallback(loaded.raw()).resolve(), env, uid);
    } catch (RuntimeException e) {
      throw new UserError("configuration: " + e.getMessage(), e);
    }
  }

  public static String seconds(Duration d) {
    return d.toSeconds() + "s";
  }
}
