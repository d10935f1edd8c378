package dev.keymux.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.keymux.config.policy.PolicySettings;
import dev.keymux.core.prompt.PromptMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Every keymux setting, read eagerly into typed final fields so that all configuration errors
 * surface at start, together, with file and line. Defaults live in {@code reference.conf}
 * only — nothing here repeats them.
 */
public final class KeymuxSettings {
  /** One configured backend: its name, its type and its whole block (including type). */
  public record BackendSettings(String name, String type, Config settings) {}

  private final Config raw;
  private final Path socketPath;
  private final boolean socketPathIsFallback;
  private final int maxConnections;
  private final Set<Integer> allowedUids;
  private final Duration backendTimeout;
  private final Duration signTimeout;
  private final Duration defaultKeyLifetime;
  private final Duration confirmTimeout;
  private final Duration lockMaxDelay;
  private final Duration idleExit;
  private final Path grantsDirectory;
  private final Duration grantsMaxLifetime;
  private final String fingerprintHash;
  private final List<String> pkcs11AllowedModules;
  private final List<BackendSettings> backends;
  private final String addTarget;
  private final String extensionTarget;
  private final PolicySettings policy;
  private final boolean headless;
  private final PromptMode prompt;
  private final boolean notify;

  private KeymuxSettings(Config c, Map<String, String> env, int uid) {
    List<String> problems = new ArrayList<>();
    this.raw = c;
    String path = read(problems, () -> c.getString("keymux.socket.path"), "");
    String xdg = env.getOrDefault("XDG_RUNTIME_DIR", "");
    if (!path.isEmpty()) {
      socketPath = Path.of(expandHome(path, env)).toAbsolutePath();
      socketPathIsFallback = false;
    } else if (!xdg.isEmpty()) {
      socketPath = Path.of(xdg, "keymux", "agent.sock");
      socketPathIsFallback = false;
    } else {
      socketPath = Path.of("/tmp", "keymux-" + uid, "agent.sock");
      socketPathIsFallback = true;
    }
    headless = read(problems, () -> c.getBoolean("keymux.headless"), false);
    prompt = read(problems, () -> {
      try {
        return PromptMode.parse(c.getString("keymux.prompt"));
      } catch (IllegalArgumentException e) {
        throw new ConfigException.BadValue(c.getValue("keymux.prompt").origin(), "keymux.prompt", e.getMessage());
      }
    }, PromptMode.NONE);
    notify = read(problems, () -> c.getBoolean("keymux.notify"), false);
    maxConnections = read(problems, () -> atLeast(c, "keymux.socket.max-connections", 1), 1);
    allowedUids = read(problems, () -> Set.copyOf(c.getIntList("keymux.socket.allowed-uids")), Set.of());
    backendTimeout = read(problems, () -> positive(c, "keymux.backend-timeout"), Duration.ofSeconds(1));
    signTimeout = read(problems, () -> positive(c, "keymux.sign-timeout"), Duration.ofSeconds(1));
    defaultKeyLifetime = read(problems, () -> nonNegative(c, "keymux.keys.default-lifetime"), Duration.ZERO);
    confirmTimeout = read(problems, () -> positive(c, "keymux.keys.confirm-timeout"), Duration.ofSeconds(1));
    lockMaxDelay = read(problems, () -> nonNegative(c, "keymux.lock.max-delay"), Duration.ZERO);
    idleExit = read(problems, () -> nonNegative(c, "keymux.idle-exit"), Duration.ZERO);
    grantsDirectory = read(problems, () -> {
      String dir = c.getString("keymux.grants.directory");
      if (!dir.startsWith("/") && !dir.startsWith("~/")) {
        throw new ConfigException.BadValue(c.getValue("keymux.grants.directory").origin(), "keymux.grants.directory",
            "must be an absolute path, not '" + dir + "'");
      }
      return Path.of(expandHome(dir, env));
    }, Path.of("/tmp"));
    grantsMaxLifetime = read(problems, () -> positive(c, "keymux.grants.max-lifetime"), Duration.ofHours(1));
    fingerprintHash = read(problems, () -> {
      String h = c.getString("keymux.fingerprint-hash").toLowerCase();
      if (!h.equals("sha256") && !h.equals("md5")) {
        throw new ConfigException.BadValue(c.getValue("keymux.fingerprint-hash").origin(), "keymux.fingerprint-hash",
            "must be sha256 or md5, not '" + h + "'");
      }
      return h;
    }, "sha256");
    pkcs11AllowedModules = read(problems, () -> List.copyOf(c.getStringList("keymux.pkcs11.allowed-modules")), List.of());
    backends = read(problems, () -> backends(c, problems), List.of());
    addTarget = read(problems, () -> {
      String t = c.getString("keymux.add-target");
      if (!t.isEmpty() && backends.stream().noneMatch(b -> b.name().equals(t))) {
        throw new ConfigException.BadValue(c.getValue("keymux.add-target").origin(), "keymux.add-target",
            "names '" + t + "', but no backend of that name is configured");
      }
      return t;
    }, "");
    extensionTarget = read(problems, () -> {
      String t = c.getString("keymux.extension-target");
      if (!t.isEmpty() && backends.stream().noneMatch(b -> b.name().equals(t))) {
        throw new ConfigException.BadValue(c.getValue("keymux.extension-target").origin(), "keymux.extension-target",
            "names '" + t + "', but no backend of that name is configured");
      }
      return t;
    }, "");
    Set<String> backendNames = new LinkedHashSet<>();
    backends.forEach(b -> backendNames.add(b.name()));
    policy = PolicySettings.read(c, backendNames, socketPath, env.getOrDefault("HOME", System.getProperty("user.home")),
        problems);
    if (!problems.isEmpty()) {
      throw new KeymuxConfigException(problems);
    }
  }

  /** Settings from a resolved configuration (user file over reference.conf). */
  public static KeymuxSettings from(Config resolved, Map<String, String> env, int uid) {
    return new KeymuxSettings(resolved, env, uid);
  }

  private static <T> T read(List<String> problems, Supplier<T> reader, T placeholder) {
    try {
      return reader.get();
    } catch (ConfigException e) {
      problems.add(e.getMessage());
      return placeholder;
    }
  }

  private static int atLeast(Config c, String key, int min) {
    int v = c.getInt(key);
    if (v < min) {
      throw new ConfigException.BadValue(c.getValue(key).origin(), key, "must be at least " + min + ", not " + v);
    }
    return v;
  }

  private static Duration nonNegative(Config c, String key) {
    Duration d = c.getDuration(key);
    if (d.isNegative()) {
      throw new ConfigException.BadValue(c.getValue(key).origin(), key, "must not be negative");
    }
    return d;
  }

  private static Duration positive(Config c, String key) {
    Duration d = nonNegative(c, key);
    if (d.isZero()) {
      throw new ConfigException.BadValue(c.getValue(key).origin(), key, "must be greater than zero");
    }
    return d;
  }

  private static List<BackendSettings> backends(Config c, List<String> problems) {
    ConfigObject all = c.getObject("keymux.backends");
    List<String> order = c.getStringList("keymux.backend-order");
    Set<String> names = new TreeSet<>();
    Set<String> disabled = new TreeSet<>();
    all.forEach((name, value) -> (value.valueType() == ConfigValueType.NULL ? disabled : names).add(name));
    Set<String> ordered = new LinkedHashSet<>();
    for (String name : order) {
      if (disabled.contains(name)) {
        continue; // turned off with `name = null`
      }
      if (!names.contains(name)) {
        problems.add(c.getValue("keymux.backend-order").origin().description() + ": keymux.backend-order names '" + name
            + "', but no backend of that name is configured (configured: " + String.join(", ", names) + ")");
      } else {
        ordered.add(name);
      }
    }
    ordered.addAll(names);
    List<BackendSettings> out = new ArrayList<>();
    for (String name : ordered) {
      ConfigValue v = all.get(name);
      String key = "keymux.backends." + quoteKey(name);
      if (v.valueType() != ConfigValueType.OBJECT) {
        problems.add(v.origin().description() + ": " + key + " must be an object with a type");
        continue;
      }
      Config block = ((ConfigObject) v).toConfig();
      if (!block.hasPath("type")) {
        problems.add(v.origin().description() + ": " + key + " has no type (for example: type = memory)");
        continue;
      }
      try {
        out.add(new BackendSettings(name, block.getString("type"), block));
      } catch (ConfigException e) {
        problems.add(e.getMessage());
      }
    }
    return List.copyOf(out);
  }

  private static String quoteKey(String name) {
    return name.matches("[A-Za-z0-9_-]+") ? name : "\"" + name + "\"";
  }

  private static String expandHome(String path, Map<String, String> env) {
    if (path.equals("~") || path.startsWith("~/")) {
      return env.getOrDefault("HOME", System.getProperty("user.home")) + path.substring(1);
    }
    return path;
  }

  public Config raw() {
    return raw;
  }

  public Path socketPath() {
    return socketPath;
  }

  /** True when XDG_RUNTIME_DIR was unset and the socket went to the /tmp fallback. */
  public boolean socketPathIsFallback() {
    return socketPathIsFallback;
  }

  /** True when the socket path is the built-in default rather than configured. */
  public boolean socketPathIsDefault() {
    return raw.getString("keymux.socket.path").isEmpty();
  }

  public int maxConnections() {
    return maxConnections;
  }

  public Set<Integer> allowedUids() {
    return allowedUids;
  }

  public Duration backendTimeout() {
    return backendTimeout;
  }

  public Duration signTimeout() {
    return signTimeout;
  }

  /** Zero means keys are kept until removed. */
  public Duration defaultKeyLifetime() {
    return defaultKeyLifetime;
  }

  public Duration confirmTimeout() {
    return confirmTimeout;
  }

  public Duration lockMaxDelay() {
    return lockMaxDelay;
  }

  /** How long a socket-activated keymux may go without a connection before it exits; zero = never. */
  public Duration idleExit() {
    return idleExit;
  }

  /** Where each grant's socket directory is made ({@code keymux grant}). */
  public Path grantsDirectory() {
    return grantsDirectory;
  }

  /** The longest a grant may last. */
  public Duration grantsMaxLifetime() {
    return grantsMaxLifetime;
  }

  public String fingerprintHash() {
    return fingerprintHash;
  }

  public List<String> pkcs11AllowedModules() {
    return pkcs11AllowedModules;
  }

  /** The backend that takes keys added with ssh-add; empty = none. */
  public String addTarget() {
    return addTarget;
  }

  /** The backend that answers extensions keymux does not know; empty = the first that supports them. */
  public String extensionTarget() {
    return extensionTarget;
  }

  /** Rules, scoped sockets and the policy's own settings. */
  public PolicySettings policy() {
    return policy;
  }

  /** No desktop: no GNOME keyring backend, no Secret Service, no prompts (keymux.headless). */
  public boolean headless() {
    return headless;
  }

  /**
   * How keymux asks the user (keymux.prompt). Headless, {@code auto} means {@code none}: nobody
   * would see the question, so a key that needs one fails at once instead of waiting.
   */
  public PromptMode prompt() {
    return headless && prompt == PromptMode.AUTO ? PromptMode.NONE : prompt;
  }

  /** Whether each signature is announced with notify-send (keymux.notify). */
  public boolean notifyOnSign() {
    return notify;
  }

  /** Backends in effective order. */
  public List<BackendSettings> backends() {
    return backends;
  }
}
