package dev.keymux.backend.agent;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;

/** The settings of one `agent` backend, read eagerly; defaults come from reference.conf. */
record UpstreamSettings(Path socket, Duration requestTimeout, Duration backoff, Duration maxBackoff) {

  static UpstreamSettings from(String name, Config block, Path home) {
    Config defaults = ConfigFactory.parseResources(UpstreamSettings.class.getClassLoader(), "reference.conf")
        .resolve().getConfig("keymux.backend-defaults.agent");
    Set<String> unknown = new TreeSet<>(block.root().keySet());
    unknown.removeAll(defaults.root().keySet());
    unknown.remove("type");
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("backend " + name + ": unknown setting(s) " + unknown + " (known: type, "
          + String.join(", ", new TreeSet<>(defaults.root().keySet())) + ")");
    }
    Config c = block.withFallback(defaults);
    try {
      String socket = c.getString("socket");
      if (socket.isEmpty()) {
        throw new IllegalArgumentException("backend " + name + ": socket is required (the upstream agent's socket path)");
      }
      Path path = socket.equals("~") || socket.startsWith("~/") ? home.resolve(socket.substring(Math.min(2, socket.length())))
          : Path.of(socket).toAbsolutePath();
      Duration timeout = c.getDuration("request-timeout");
      Duration backoff = c.getDuration("backoff");
      Duration max = c.getDuration("max-backoff");
      if (timeout.isZero() || timeout.isNegative() || backoff.isNegative() || max.compareTo(backoff) < 0) {
        throw new IllegalArgumentException("backend " + name + ": request-timeout must be positive and max-backoff >= backoff");
      }
      return new UpstreamSettings(path, timeout, backoff, max);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("backend " + name + ": " + e.getMessage(), e);
    }
  }
}
