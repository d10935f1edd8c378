package dev.keymux.backend.agent;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.keymux.core.agent.BackendConfig;
import java.nio.file.Path;

/** The settings of one `agent` backend, read eagerly; defaults come from reference.conf. */
record UpstreamSettings(Path socket, UpstreamTimeouts timeouts) {

  /** Replaces $NAME and ${NAME} with environment variables; an unknown variable is an error. */
  static String expand(String s, java.util.Map<String, String> env) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}|\\$([A-Za-z_][A-Za-z0-9_]*)").matcher(s);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String var = m.group(1) != null ? m.group(1) : m.group(2);
      String value = env.get(var);
      if (value == null) {
        throw new IllegalArgumentException("socket names $" + var + ", which is not set");
      }
      m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }

  static UpstreamSettings from(String name, Config block, Path home) {
    return from(name, block, home, System.getenv());
  }

  static UpstreamSettings from(String name, Config block, Path home, java.util.Map<String, String> env) {
    Config c = BackendConfig.withDefaults("agent", name, block);
    try {
      String socket;
      try {
        socket = expand(c.getString("socket"), env);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("backend " + name + ": " + e.getMessage());
      }
      if (socket.isEmpty()) {
        throw new IllegalArgumentException("backend " + name + ": socket is required (the upstream agent's socket path)");
      }
      Path path = socket.equals("~") || socket.startsWith("~/") ? home.resolve(socket.substring(Math.min(2, socket.length())))
          : Path.of(socket).toAbsolutePath();
      return new UpstreamSettings(path, UpstreamTimeouts.from(name, c));
    } catch (ConfigException e) {
      throw new IllegalArgumentException("backend " + name + ": " + e.getMessage(), e);
    }
  }
}
