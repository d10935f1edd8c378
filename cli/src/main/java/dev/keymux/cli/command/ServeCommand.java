package dev.keymux.cli.command;

import dev.keymux.cli.Settings;
import dev.keymux.cli.SshTime;
import dev.keymux.cli.UserError;
import dev.keymux.cli.daemon.Headless;
import dev.keymux.cli.daemon.Serve;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
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

  /** Set by keymux agent and ci start for the ssh-XXXX directory they made: removed when the agent ends. */
  @Option(names = "--remove-socket-directory", hidden = true)
  boolean removeSocketDirectory;

  @Override
  public Integer call() throws Exception {
    return Serve.run(options(), null);
  }

  /** This command line as the daemon takes it. */
  Serve.Options options() {
    return new Serve.Options(config, overrides(), debug, keysFromStdin, removeSocketDirectory);
  }

  /**
   * {@code keymux serve} with no options, as keymux.service runs it, without building the
   * command line of every command first: picocli's classes are too old for the class-data
   * archive, and building keymux's thirteen commands took longer than all of serve's own start
   * (docs/architecture.md, "Start-up and memory"). Errors end it as picocli would.
   */
  static int runWithoutOptions() {
    try {
      return Serve.run(Serve.Options.none(), null);
    } catch (UserError e) {
      System.err.println("keymux: " + e.getMessage());
      return 1;
    } catch (Exception e) {
      e.printStackTrace();
      return 1;
    }
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
        throw new UserError("-t: " + e.getMessage());
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
