package dev.keymux.cli;

import dev.keymux.config.ConfigLoader;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.backend.file.PreloadedKeys;
import dev.keymux.backend.file.PreloadedKeysBackend;
import dev.keymux.core.agent.Backend;
import java.nio.charset.StandardCharsets;
import dev.keymux.core.server.SocketActivation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code keymux serve}: the agent in the foreground, logging to stderr. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the agent in the foreground (logs to stderr); stop it with Ctrl-C or SIGTERM.")
final class ServeCommand implements Callable<Integer> {
  @Option(names = "--config", paramLabel = "FILE",
      description = "Configuration file (default: $XDG_CONFIG_HOME/keymux/keymux.conf if present, else the embedded defaults).")
  Path config;

  @Option(names = {"-a", "--socket"}, paramLabel = "PATH", description = "Socket path (overrides keymux.socket.path).")
  Path socket;

  @Option(names = {"-t", "--lifetime"}, paramLabel = "LIFE",
      description = "Default lifetime of added keys, in OpenSSH time format (e.g. 3600, 1h30m).")
  String lifetime;

  @Option(names = "-E", paramLabel = "HASH", description = "Fingerprint hash for logs: sha256 (default) or md5.")
  String fingerprintHash;

  @Option(names = "-P", paramLabel = "ALLOWLIST", description = "PKCS#11 provider allowlist (comma-separated patterns).")
  String providers;

  @Option(names = {"-d", "--debug"}, description = "Log debug messages.")
  boolean debug;

  @Option(names = "--headless",
      description = "No desktop (CI, servers): no GNOME keyring backend, no Secret Service, no prompts; keys from $"
          + Headless.KEYS_VARIABLE + " (same as keymux.headless = true).")
  boolean headless;

  @Option(names = "--keys-from-stdin",
      description = "Read unencrypted private keys (OpenSSH or PEM, concatenated; '# repo: URL' before a key ties it to a repository) from stdin until EOF.")
  boolean keysFromStdin;

  @Override
  public Integer call() throws Exception {
    return run(this, null);
  }

  /**
   * {@code keymux serve} with no options, as keymux.service runs it, without building the
   * command line of every command first: picocli's classes are too old for the class-data
   * archive, and building keymux's thirteen commands took longer than all of serve's own start
   * (docs/architecture.md, "Start-up and memory"). Errors end it as picocli would.
   */
  static int runWithoutOptions() {
    try {
      return run(new ServeCommand(), null);
    } catch (Main.UserError e) {
      System.err.println("keymux: " + e.getMessage());
      return 1;
    } catch (Exception e) {
      e.printStackTrace();
      return 1;
    }
  }

  /** Runs the daemon until SIGTERM/SIGINT; {@code ready} is told the socket once it is served. */
  static int run(ServeCommand opts, java.util.function.Consumer<Path> ready) throws Exception {
    BackendFactories factories = BackendFactories.building(); // alongside logging and configuration
    if (opts.debug) {
      System.setProperty("keymux.log.level", "DEBUG");
    }
    Logger log = LoggerFactory.getLogger(ServeCommand.class);
    StartupTrace.mark("logger");
    KeymuxSettings plain = Settings.load(opts.config, opts.overrides());
    List<PreloadedKeys.Key> keys = readKeys(opts, plain.headless());
    KeymuxSettings settings = load(opts, keys, plain);
    StartupTrace.mark("settings and keys");
    SocketActivation activation;
    try {
      activation = SocketActivation.from(System.getenv(), ProcessHandle.current().pid());
    } catch (java.io.IOException e) {
      throw new Main.UserError(e.getMessage(), e);
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
          ConfigLoader.userFile(java.util.Optional.ofNullable(opts.config), System.getenv()), activation.socket(), preloaded,
          factories);
    } catch (IllegalArgumentException e) {
      Daemon.closeAll(preloaded);
      throw new Main.UserError(e.getMessage(), e);
    }
    StartupTrace.mark("daemon built");
    socket = daemon.socketPath();
    if (activation.socket().isPresent() && !socket.equals(settings.socketPath())) {
      log.info("serving systemd's socket {}; keymux.socket.path ({}) is not used", socket, settings.socketPath());
    }
    // Registered before the socket exists, so a SIGTERM at any moment after it appears removes it.
    Thread hook = new Thread(daemon::close, "keymux-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      daemon.start();
    } catch (java.io.IOException e) {
      Runtime.getRuntime().removeShutdownHook(hook);
      daemon.close();
      throw new Main.UserError("cannot serve " + socket + ": " + e.getMessage(), e);
    }
    StartupTrace.mark("started");
    if (ready != null) {
      ready.accept(socket);
    }
    daemon.awaitStop();
    return 0;
  }

  /**
   * The settings with the command line's overrides and, when headless or given keys, the
   * desktop backends off and the rules for repository-tagged keys in front of the configured
   * ones (again on every reload, so they survive edits of the file).
   */
  private static KeymuxSettings load(ServeCommand opts, List<PreloadedKeys.Key> keys) {
    return load(opts, keys, Settings.load(opts.config, opts.overrides()));
  }

  /** As {@link #load(ServeCommand, List)}, from the file's settings {@code plain} just loaded. */
  private static KeymuxSettings load(ServeCommand opts, List<PreloadedKeys.Key> keys, KeymuxSettings plain) {
    Map<String, Object> o = opts.overrides();
    if (plain.headless()) {
      o.putAll(Headless.withoutDesktop(plain));
    }
    if (keys.stream().anyMatch(k -> !k.repo().isEmpty())) {
      try {
        o.put("keymux.rules", Headless.rules(keys, plain.raw().getList("keymux.rules")));
      } catch (IllegalArgumentException e) {
        throw new Main.UserError(e.getMessage(), e);
      }
    }
    return o.size() == opts.overrides().size() ? plain : Settings.load(opts.config, o);
  }

  /**
   * Keys given at start: from stdin with --keys-from-stdin, and when headless from
   * $KEYMUX_KEYS. The text is wiped once parsed; a key that cannot be used stops keymux.
   */
  private static List<PreloadedKeys.Key> readKeys(ServeCommand opts, boolean headless) throws java.io.IOException {
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
      if (opts.keysFromStdin) {
        byte[] bytes = System.in.readAllBytes();
        try {
          keys.addAll(PreloadedKeys.parse(bytes, "stdin"));
        } finally {
          Arrays.fill(bytes, (byte) 0);
        }
      }
    } catch (IllegalArgumentException e) {
      keys.forEach(k -> k.key().close());
      throw new Main.UserError(e.getMessage(), e);
    }
    return List.copyOf(keys);
  }

  Map<String, Object> overrides() {
    Map<String, Object> o = new LinkedHashMap<>();
    if (headless) {
      o.put("keymux.headless", true);
    }
    if (socket != null) {
      o.put("keymux.socket.path", socket.toAbsolutePath().toString());
    }
    if (lifetime != null) {
      try {
        o.put("keymux.keys.default-lifetime", Settings.seconds(SshTime.parse(lifetime)));
      } catch (IllegalArgumentException e) {
        throw new Main.UserError("-t: " + e.getMessage());
      }
    }
    if (fingerprintHash != null) {
      o.put("keymux.fingerprint-hash", fingerprintHash);
    }
    if (providers != null) {
      o.put("keymux.pkcs11.allowed-modules", java.util.List.of(providers.split(",")));
    }
    return o;
  }
}
