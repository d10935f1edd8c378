package dev.keymux.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigValue;
import dev.keymux.core.agent.ClosestKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Finds and loads the configuration: {@code --config FILE}, else
 * {@code $XDG_CONFIG_HOME/keymux/keymux.conf} (default {@code ~/.config/keymux/keymux.conf}) if
 * it exists, else only the embedded {@code reference.conf}. Unknown keys in the user file are
 * errors with a "did you mean" suggestion; every problem names file and line.
 */
public final class ConfigLoader {
  private ConfigLoader() {}

  /** The user file that would be used, if any. */
  public static Optional<Path> userFile(Optional<Path> explicitFile, Map<String, String> env) {
    if (explicitFile.isPresent()) {
      return explicitFile;
    }
    String xdg = env.getOrDefault("XDG_CONFIG_HOME", "");
    Path base = !xdg.isEmpty() ? Path.of(xdg) : Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".config");
    Path f = base.resolve("keymux").resolve("keymux.conf");
    return Files.isRegularFile(f) ? Optional.of(f) : Optional.empty();
  }

  public static KeymuxSettings load(Optional<Path> explicitFile, Map<String, String> env, int uid) {
    Config reference = ConfigFactory.parseResources(ConfigLoader.class.getClassLoader(), "reference.conf");
    Optional<Path> file = userFile(explicitFile, env);
    Config user = ConfigFactory.empty();
    if (file.isPresent()) {
      Path f = file.get();
      if (!Files.isRegularFile(f)) {
        throw new KeymuxConfigException(List.of("configuration file " + f + " does not exist"));
      }
      try {
        user = ConfigFactory.parseFile(f.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
      } catch (ConfigException e) {
        throw new KeymuxConfigException(List.of(e.getMessage()));
      }
    }
    // Unknown keys and bad values are reported together: one run shows every problem.
    List<String> problems = new ArrayList<>(unknownKeys(user, reference));
    Config resolved;
    try {
      resolved = user.withFallback(reference).resolve();
      resolved.checkValid(reference.resolve(), "keymux");
    } catch (ConfigException.ValidationFailed e) {
      e.problems().forEach(p -> problems.add(p.origin().description() + ": " + p.path() + ": " + p.problem()));
      throw new KeymuxConfigException(problems);
    } catch (ConfigException e) {
      problems.add(e.getMessage());
      throw new KeymuxConfigException(problems);
    }
    KeymuxSettings settings = null;
    try {
      settings = KeymuxSettings.from(resolved, env, uid);
    } catch (KeymuxConfigException e) {
      problems.addAll(e.problems());
    }
    if (!problems.isEmpty()) {
      throw new KeymuxConfigException(problems);
    }
    return settings;
  }

  /**
   * Every path the user file sets that reference.conf does not know: a top-level key that looks
   * like a misspelt keymux ({@code keymx { }} would otherwise be ignored whole), and paths under
   * keymux.
   */
  static List<String> unknownKeys(Config user, Config reference) {
    List<String> problems = new ArrayList<>();
    Set<String> topLevel = new TreeSet<>(reference.root().keySet());
    for (String key : new TreeSet<>(user.root().keySet())) {
      // Other top-level keys are HOCON's way to name a value once and use it in several places
      // (${trusted-clients}); only one that looks like a misspelt keymux is surely a mistake.
      if (!topLevel.contains(key) && ClosestKey.to(key, topLevel).isPresent()) {
        problems.add(user.root().get(key).origin().description() + ": unknown setting "
            + com.typesafe.config.ConfigUtil.joinPath(key) + suggestion(key, topLevel) + " (keymux reads only keymux { ... })");
      }
    }
    if (!user.hasPath("keymux")) {
      return problems;
    }
    Set<String> known = new TreeSet<>();
    reference.entrySet().forEach(e -> known.add(e.getKey()));
    Map<String, ConfigValue> leaves = new java.util.TreeMap<>();
    collectLeaves("keymux", user.root().get("keymux"), leaves);
    for (Map.Entry<String, ConfigValue> e : leaves.entrySet()) {
      String path = e.getKey();
      if (path.startsWith("keymux.backends.")) {
        continue; // a backend's own settings are checked by its factory
      }
      if (path.startsWith("keymux.sockets.")) {
        continue; // checked, with suggestions, by PolicySettings against keymux.socket-defaults
      }
      if (known.contains(path) || isInsideKnownList(path, known) || isKnownSection(path, e.getValue(), reference)) {
        continue;
      }
      problems.add(e.getValue().origin().description() + ": unknown setting " + path + suggestion(path, known));
    }
    return problems;
  }

  /** An empty block where reference.conf has a block ({@code keymux { }}, {@code policy { }}): nothing set, nothing wrong. */
  private static boolean isKnownSection(String path, ConfigValue value, Config reference) {
    return value instanceof com.typesafe.config.ConfigObject obj && obj.isEmpty() && reference.hasPath(path)
        && reference.getValue(path).valueType() == com.typesafe.config.ConfigValueType.OBJECT;
  }

  /**
   * Walks the user's values without resolving them (a leaf may still be a ${?ENV} substitution,
   * which entrySet() would refuse).
   */
  private static void collectLeaves(String path, ConfigValue value, Map<String, ConfigValue> out) {
    if (value instanceof com.typesafe.config.ConfigObject obj && !obj.isEmpty()) {
      for (String key : obj.keySet()) {
        collectLeaves(path + "." + com.typesafe.config.ConfigUtil.quoteString(key).replaceAll("^\"([A-Za-z0-9_-]+)\"$", "$1"),
            obj.get(key), out);
      }
    } else {
      out.put(path, value);
    }
  }

  private static boolean isInsideKnownList(String path, Set<String> known) {
    for (String k : known) {
      if (path.startsWith(k + ".")) {
        return true;
      }
    }
    return false;
  }

  private static String suggestion(String key, Set<String> known) {
    return ClosestKey.to(key, known).map(k -> " — did you mean " + k + "?").orElse("");
  }
}
