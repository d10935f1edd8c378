package dev.keymux.core.agent;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Set;
import java.util.TreeSet;

/**
 * A backend's configuration block merged over its defaults. Each backend module ships its
 * defaults in its own reference.conf under {@code keymux.backend-defaults.TYPE} (one place per
 * fact); a key in the block that the defaults do not know is an error naming the known ones.
 */
public final class BackendConfig {
  private BackendConfig() {}

  /**
   * @throws IllegalArgumentException naming the backend and the unknown keys
   */
  public static Config withDefaults(String type, String name, Config block) {
    Config defaults = ConfigFactory.parseResources(BackendConfig.class.getClassLoader(), "reference.conf")
        .resolve().getConfig("keymux.backend-defaults." + type);
    Set<String> unknown = new TreeSet<>(block.root().keySet());
    unknown.removeAll(defaults.root().keySet());
    unknown.remove("type");
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("backend " + name + ": unknown setting(s) " + unknown + " (known: type, "
          + String.join(", ", new TreeSet<>(defaults.root().keySet())) + ")");
    }
    return block.withFallback(defaults);
  }
}
