package dev.keymux.cli.daemon;

import dev.keymux.backend.file.PreloadedKeys;
import dev.keymux.backend.file.PreloadedKeysBackend;
import dev.keymux.cli.Settings;
import dev.keymux.cli.UserError;
import dev.keymux.config.ConfigLoader;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.server.SocketActivation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's life from configuration to SIGTERM, as {@code keymux serve}, {@code keymux agent}
 * and the start-up training run it: settings and keys given at start, the daemon, its socket,
 * the shutdown hook.
 */
public final class Serve {
  private Serve() {}

  /**
   * What the command line adds to the configuration file: the file itself (null: the user's or
   * the embedded one), settings that override it, debug logging, keys on stdin, and whether the
   * socket's directory was made for this agent alone ({@code keymux agent}'s ssh-XXXX), to be
   * removed with the socket when the agent ends.
   */
  public record Options(Path config, Map<String, Object> overrides, boolean debug, boolean keysFromStdin,
      boolean removeSocketDirectory) {
    public Options {
      overrides = Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
    }

    /** {@code keymux serve} with nothing on its command line. */
    public static Options none() {
      return new Options(null, Map.of(), false, false, false);
    }
  }

  /** Runs the daemon until SIGTERM/SIGINT; {@code ready} is told the socket once it is served. */
  public static int run(Options opts, Consumer<Path> ready) throws Exception {
    BackendFactories factories = BackendFactories.building(); // alongside logging and configuration
    if (opts.debug()) {
      System.setProperty("keymux.log.level", "DEBUG");
    }
    Logger log = LoggerFactory.getLogger(Serve.class);
    StartupTrace.mark("logger");
    KeymuxSettings plain = Settings.load(opts.config(), opts.overrides());
    List<PreloadedKeys.Key> keys = readKeys(opts, plain.headless());
    KeymuxSettings settings = load(opts, keys, plain);
    StartupTrace.mark("settings and keys");
    SocketActivation activation;
    try {
      activation = SocketActivation.from(System.getenv(), ProcessHandle.current().pid());
    } catch (java.io.IOException e) {
      throw new UserError(e.getMessage(), e);
    }
    Path socket = settings.socketPath();
    if (activation.socket().isEmpty() && settings.socketPathIsFallback()) {
      log.warn("XDG_RUNTIME_DIR is not set; using the private fallback directory {}", socket.getParent());
    }
    // What backends and the programs they start see: never systemd's LISTEN_* and, headless, no desktop.
    Map<String, String> env = settings.headless() ? Headless.environment(activation.environment()) : activation.environment();
    List<Backend> preloaded = new ArrayList<>();
    if (!keys.isEmpty()) {
      preloaded.add(new PreloadedKeysBackend(Headless.BACKEND, keys));
      log.info("{} key(s) given at start, {} tied to a repository", keys.size(),
          keys.stream().filter(k -> !k.repo().isEmpty()).count());
    }
    Daemon daemon;
    try {
      daemon = new Daemon(settings, socket, env, () -> load(opts, keys),
          ConfigLoader.userFile(java.util.Optional.ofNullable(opts.config()), System.getenv()), activation.socket(), preloaded,
          factories);
    } catch (IllegalArgumentException e) {
      Daemon.closeAll(preloaded);
      throw new UserError(e.getMessage(), e);
    }
    StartupTrace.mark("daemon built");
    socket = daemon.socketPath();
    if (activation.socket().isPresent() && !socket.equals(settings.socketPath())) {
      log.info("serving systemd's socket {}; keymux.socket.path ({}) is not used", socket, settings.socketPath());
    }
    // Registered before the socket exists, so a SIGTERM at any moment after it appears removes it.
    Path served = socket;
    Thread hook = new Thread(() -> {
      daemon.close();
      if (opts.removeSocketDirectory()) {
        removeIfEmpty(served.getParent());
      }
    }, "keymux-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      daemon.start();
    } catch (java.io.IOException e) {
      Runtime.getRuntime().removeShutdownHook(hook);
      daemon.close();
      throw new UserError("cannot serve " + socket + ": " + e.getMessage(), e);
    }
    StartupTrace.mark("started");
    if (ready != null) {
      ready.accept(socket);
    }
    daemon.awaitStop();
    return 0;
  }

  private static void removeIfEmpty(Path dir) {
    try {
      Files.deleteIfExists(dir); // fails when anything is left in it: then it stays
    } catch (java.io.IOException e) {
      LoggerFactory.getLogger(Serve.class).debug("kept {}: {}", dir, e.toString());
    }
  }

  /**
   * The settings with the command line's overrides and, when headless or given keys, the
   * desktop backends off and the rules for repository-tagged keys in front of the configured
   * ones (again on every reload, so they survive edits of the file).
   */
  private static KeymuxSettings load(Options opts, List<PreloadedKeys.Key> keys) {
    return load(opts, keys, Settings.load(opts.config(), opts.overrides()));
  }

  /** As {@link #load(Options, List)}, from the file's settings {@code plain} just loaded. */
  private static KeymuxSettings load(Options opts, List<PreloadedKeys.Key> keys, KeymuxSettings plain) {
    Map<String, Object> o = new LinkedHashMap<>(opts.overrides());
    if (plain.headless()) {
      o.putAll(Headless.withoutDesktop(plain));
    }
    if (keys.stream().anyMatch(k -> !k.repo().isEmpty())) {
      try {
        o.put("keymux.rules", Headless.rules(keys, plain.raw().getList("keymux.rules")));
      } catch (IllegalArgumentException e) {
        throw new UserError(e.getMessage(), e);
      }
    }
    return o.size() == opts.overrides().size() ? plain : Settings.load(opts.config(), o);
  }

  /**
   * Keys given at start: from stdin with --keys-from-stdin, when headless from $KEYMUX_KEYS, and
   * from the systemd credential of a service account ({@link Headless#credentialKeys}). The text
   * is wiped once parsed; a key that cannot be used stops keymux.
   */
  private static List<PreloadedKeys.Key> readKeys(Options opts, boolean headless) throws java.io.IOException {
    List<PreloadedKeys.Key> keys = new ArrayList<>();
    try {
      if (headless) {
        String text = System.getenv(Headless.KEYS_VARIABLE);
        if (text != null && !text.isBlank()) {
          // A String from the environment cannot be wiped; its copy here is.
          byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
          try {
            keys.addAll(PreloadedKeys.parse(bytes, Headless.KEYS_VARIABLE));
          } finally {
            Arrays.fill(bytes, (byte) 0);
          }
        }
      }
      Optional<Path> credential = Headless.credentialKeys(System.getenv());
      if (credential.isPresent()) {
        byte[] bytes = Files.readAllBytes(credential.get());
        try {
          keys.addAll(PreloadedKeys.parse(bytes, "the credential " + Headless.CREDENTIAL));
        } finally {
          Arrays.fill(bytes, (byte) 0);
        }
      }
      if (opts.keysFromStdin()) {
        byte[] bytes = System.in.readAllBytes();
        try {
          keys.addAll(PreloadedKeys.parse(bytes, "stdin"));
        } finally {
          Arrays.fill(bytes, (byte) 0);
        }
      }
    } catch (IllegalArgumentException | UserError | java.io.IOException e) {
      keys.forEach(k -> k.key().close());
      throw e instanceof UserError u ? u : new UserError(e.getMessage(), e);
    }
    return List.copyOf(keys);
  }
}
