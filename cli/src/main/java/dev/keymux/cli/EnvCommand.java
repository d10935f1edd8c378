package dev.keymux.cli;

import dev.keymux.config.KeymuxSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code keymux env}: prints the line that points SSH_AUTH_SOCK at keymux, for
 * {@code eval "$(keymux env)"} in a shell profile. With the default socket path the line is
 * guarded so a login without XDG_RUNTIME_DIR (ssh before any graphical login) still works.
 */
@Command(name = "env", mixinStandardHelpOptions = true,
    description = "Print the shell command that sets SSH_AUTH_SOCK to keymux's socket.")
final class EnvCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--shell", paramLabel = "SHELL", description = "sh (default; bash, zsh, dash) or fish; guessed from $SHELL.")
  String shell;

  @Option(names = "--config", paramLabel = "FILE", description = "keymux configuration file.")
  Path config;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    boolean fish = isFish(shell);
    KeymuxSettings settings = Settings.load(config, Map.of());
    if (!settings.socketPathIsDefault()) {
      out.println(fish ? "set -gx SSH_AUTH_SOCK " + quote(settings.socketPath().toString()) + ";"
          : "SSH_AUTH_SOCK=" + quote(settings.socketPath().toString()) + "; export SSH_AUTH_SOCK;");
    } else {
      out.println(defaultSocketLine(fish));
    }
    return 0;
  }

  /** fish when asked for, or when {@code shell} is null and $SHELL is fish; else sh. */
  static boolean isFish(String shell) {
    return (shell != null ? shell : System.getenv().getOrDefault("SHELL", "sh")).endsWith("fish");
  }

  /**
   * The line for the default socket: $XDG_RUNTIME_DIR/keymux/agent.sock (where keymux.socket
   * listens too), or the private /tmp fallback when the login has no XDG_RUNTIME_DIR.
   */
  static String defaultSocketLine(boolean fish) {
    String fallback = "/tmp/keymux-" + dev.keymux.core.server.Posix.currentUid() + "/agent.sock";
    if (fish) {
      return "if set -q XDG_RUNTIME_DIR; set -gx SSH_AUTH_SOCK \"$XDG_RUNTIME_DIR/keymux/agent.sock\"; "
          + "else; set -gx SSH_AUTH_SOCK " + quote(fallback) + "; end;";
    }
    return "if [ -n \"${XDG_RUNTIME_DIR:-}\" ]; then SSH_AUTH_SOCK=\"$XDG_RUNTIME_DIR/keymux/agent.sock\"; "
        + "else SSH_AUTH_SOCK=" + quote(fallback) + "; fi; export SSH_AUTH_SOCK;";
  }

  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }
}
