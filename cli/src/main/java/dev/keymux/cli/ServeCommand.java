package dev.keymux.cli;

import dev.keymux.config.ConfigLoader;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.core.server.SocketActivation;
import java.nio.file.Path;
import java.util.LinkedHashMap;
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

  @Override
  public Integer call() throws Exception {
    return run(this, null);
  }

  /** Runs the daemon until SIGTERM/SIGINT; {@code ready} is told the socket once it is served. */
  static int run(ServeCommand opts, java.util.function.Consumer<Path> ready) throws Exception {
    if (opts.debug) {
      System.setProperty("keymux.log.level", "DEBUG");
    }
    Logger log = LoggerFactory.getLogger(ServeCommand.class);
    KeymuxSettings settings = Settings.load(opts.config, opts.overrides());
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
    Daemon daemon;
    try {
      daemon = new Daemon(settings, socket, activation.environment(), () -> Settings.load(opts.config, opts.overrides()),
          ConfigLoader.userFile(java.util.Optional.ofNullable(opts.config), System.getenv()), activation.socket());
    } catch (IllegalArgumentException e) {
      throw new Main.UserError(e.getMessage(), e);
    }
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
    if (ready != null) {
      ready.accept(socket);
    }
    daemon.awaitStop();
    return 0;
  }

  Map<String, Object> overrides() {
    Map<String, Object> o = new LinkedHashMap<>();
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
