package dev.keymux.core.agent;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A backend's configuration block merged over its defaults. Each backend module ships its
 * defaults in its own reference.conf under {@code keymux.backend-defaults.TYPE} (one place per
 * fact); a key in the block that the defaults do not know is an error naming where it was
 * written (file: line), the closest known key and all known ones.
 */
public final class BackendConfig {
  private BackendConfig() {}

  /**
   * @throws IllegalArgumentException naming the backend and, for each unknown key, its origin
   */
  public static Config withDefaults(String type, String name, Config block) {
    Config defaults = ConfigFactory.parseResources(BackendConfig.class.getClassLoader(), "reference.conf")
        .resolve().getConfig("keymux.backend-defaults." + type);
    Set<String> known = new TreeSet<>(defaults.root().keySet());
    known.add("type");
    Set<String> unknown = new TreeSet<>(block.root().keySet());
    unknown.removeAll(known);
    if (!unknown.isEmpty()) {
      List<String> lines = new ArrayList<>();
      lines.add("backend " + name + ": unknown setting(s) " + unknown + " for type " + type + " (known: "
          + String.join(", ", known) + ")");
      for (String key : unknown) {
        lines.add("  " + block.root().get(key).origin().description() + ": unknown setting "
            + ConfigUtil.joinPath("keymux", "backends", name, key)
            + ClosestKey.to(key, known).map(k -> " — did you mean " + k + "?").orElse(""));
      }
      throw new IllegalArgumentException(String.join("\n", lines));
    }
    return block.withFallback(defaults);
  }
}
