package dev.keymux.cli.daemon;

import com.typesafe.config.ConfigValue;
import dev.keymux.backend.file.PreloadedKeys;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.core.keys.Fingerprints;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Headless (CI) mode: no desktop, no D-Bus, no prompts, and deploy keys given at start, each
 * offered only to git talking to its repository.
 */
public final class Headless {
  private Headless() {}

  /** The environment variable holding the keys (OpenSSH or PEM blocks, concatenated). */
  public static final String KEYS_VARIABLE = "KEYMUX_KEYS";
  /** The backend the given keys live in, first in line. */
  static final String BACKEND = "preloaded";
  /** The backend type that needs a desktop (GNOME's agent, found under XDG_RUNTIME_DIR). */
  private static final String DESKTOP_BACKEND_TYPE = "keyring";
  /** What backends and prompts must not see: the desktop, the session bus, the keys themselves. */
  private static final Set<String> DESKTOP_VARIABLES =
      Set.of("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "SSH_ASKPASS", KEYS_VARIABLE);
  /** The programs git runs on the server over ssh, each followed by the quoted repository path. */
  private static final List<String> GIT_SERVICES = List.of("git-upload-pack", "git-receive-pack", "git-upload-archive");

  /**
   * The environment backends and prompts get (and pass to what they spawn): without the desktop's
   * variables and {@value #KEYS_VARIABLE}, with askpass forbidden, so a key that needs a
   * passphrase fails at once instead of waiting for a prompt nobody sees.
   */
  static Map<String, String> environment(Map<String, String> env) {
    Map<String, String> out = new HashMap<>(env);
    out.keySet().removeAll(DESKTOP_VARIABLES);
    out.put("SSH_ASKPASS_REQUIRE", "never");
    return out;
  }

  /** Every backend of the desktop type turned off ({@code name = null}). */
  static Map<String, Object> withoutDesktop(KeymuxSettings settings) {
    Map<String, Object> o = new LinkedHashMap<>();
    for (KeymuxSettings.BackendSettings b : settings.backends()) {
      if (b.type().equals(DESKTOP_BACKEND_TYPE)) {
        o.put("keymux.backends.\"" + b.name() + "\"", null);
      }
    }
    return o;
  }

  /**
   * {@code keymux.rules} with two rules per repository-tagged key in front of the configured ones:
   * allow when the client's command line is git's ssh for that repository, else hide. Untagged
   * keys get no rule. The configured rules keep their origin (file and line).
   */
  public static List<Object> rules(List<PreloadedKeys.Key> keys, List<? extends ConfigValue> configured) {
    List<Object> rules = new ArrayList<>();
    for (PreloadedKeys.Key k : keys) {
      if (k.repo().isEmpty()) {
        continue;
      }
      String fingerprint = Fingerprints.sha256(k.key().publicBlob());
      rules.add(Map.of("name", "deploy key for " + k.repo(),
          "match", Map.of("fingerprint", fingerprint, "client-cmdline", cmdlinePatterns(k.repo())),
          "action", "allow"));
      rules.add(Map.of("name", "deploy key for " + k.repo() + ": hidden from everything else",
          "match", Map.of("fingerprint", fingerprint),
          "action", "hide"));
    }
    rules.addAll(configured);
    return rules;
  }

  /**
   * The command lines of git's ssh for {@code repo}: {@code ssh ... [user@]HOST ... git-upload-pack
   * 'PATH'} (and receive-pack, upload-archive). {@code repo} is a git URL: {@code [user@]host:path}
   * or {@code ssh://[user@]host[:port]/path}; a path given with or without {@code .git} matches
   * both.
   */
  static List<String> cmdlinePatterns(String repo) {
    String host;
    String path;
    if (repo.startsWith("ssh://")) {
      String rest = repo.substring("ssh://".length());
      int slash = rest.indexOf('/');
      if (slash < 0) {
        throw new IllegalArgumentException("repository " + repo + " has no path");
      }
      host = rest.substring(0, slash);
      path = rest.substring(slash);
      int colon = host.lastIndexOf(':');
      if (colon >= 0 && !host.endsWith("]")) {
        host = host.substring(0, colon); // the port is a separate -p argument
      }
    } else {
      int colon = repo.indexOf(':');
      if (colon <= 0 || colon == repo.length() - 1) {
        throw new IllegalArgumentException("repository '" + repo + "' is not a git ssh URL ([user@]host:path or ssh://host/path)");
      }
      host = repo.substring(0, colon);
      path = repo.substring(colon + 1);
    }
    host = host.substring(host.indexOf('@') + 1).replace("[", "").replace("]", "");
    String bare = path.endsWith(".git") ? path.substring(0, path.length() - 4) : path;
    List<String> patterns = new ArrayList<>();
    for (String service : GIT_SERVICES) {
      for (String p : List.of(bare, bare + ".git")) {
        patterns.add("*" + host + "*" + service + " '" + p + "'");
      }
    }
    return patterns;
  }
}
