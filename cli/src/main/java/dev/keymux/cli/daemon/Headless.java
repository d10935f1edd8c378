package dev.keymux.cli.daemon;

import com.typesafe.config.ConfigValue;
import dev.keymux.backend.file.PreloadedKeys;
import dev.keymux.cli.UserError;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.core.keys.Fingerprints;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Headless (CI) mode: no desktop, no D-Bus, no prompts, and deploy keys given at start, each
 * offered only to git talking to its repository.
 */
public final class Headless {
  private Headless() {}

  /** The environment variable holding the keys (OpenSSH or PEM blocks, concatenated). */
  public static final String KEYS_VARIABLE = "KEYMUX_KEYS";
  /**
   * The systemd credential holding the keys of a service account ({@code LoadCredential=keys:…}),
   * read from {@code $CREDENTIALS_DIRECTORY}.
   */
  public static final String CREDENTIAL = "keys";
  /** Names the root-owned file systemd loads the credential from, so keymux can check who may read it. */
  public static final String CREDENTIAL_SOURCE_VARIABLE = "KEYMUX_KEYS_SOURCE";
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

  /**
   * The credential file systemd handed over with the deploy keys, when there is one. Its source
   * (named by {@value #CREDENTIAL_SOURCE_VARIABLE}) must be root's and readable by nobody else,
   * and the copy only by this account: otherwise the keys are not secret, and keymux refuses to
   * start rather than serve them.
   */
  public static Optional<Path> credentialKeys(Map<String, String> env) throws IOException {
    String dir = env.getOrDefault("CREDENTIALS_DIRECTORY", "");
    if (dir.isEmpty() || !Files.exists(Path.of(dir, CREDENTIAL))) {
      return Optional.empty();
    }
    Path copy = Path.of(dir, CREDENTIAL);
    String source = env.getOrDefault(CREDENTIAL_SOURCE_VARIABLE, "");
    if (!source.isEmpty()) {
      requireSecret(Path.of(source), true);
    }
    requireSecret(copy, false);
    return Optional.of(copy);
  }

  private static void requireSecret(Path file, boolean rootsOwn) throws IOException {
    int mode;
    int owner;
    try {
      mode = (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      owner = (Integer) Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new UserError("refusing to start: the deploy keys file " + file + " does not exist");
    }
    String fix = "chown root:root " + file + " && chmod 600 " + file;
    if ((mode & 0077) != 0) {
      throw new UserError(String.format("refusing to start: %s is readable by others (mode %04o), so its deploy keys "
          + "are not secret; %s", file, mode & 07777, rootsOwn ? "make it root's alone: " + fix : "check its LoadCredential= source"));
    }
    if (rootsOwn && owner != 0) {
      throw new UserError("refusing to start: " + file + " belongs to uid " + owner + ", not root, who may change the "
          + "deploy keys: " + fix);
    }
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
