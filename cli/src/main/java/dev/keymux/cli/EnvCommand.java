package dev.keymux.cli;

import dev.keymux.config.KeymuxSettings;
import dev.keymux.core.server.Posix;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code keymux env}: prints the line that points SSH_AUTH_SOCK at keymux, for
 * {@code eval "$(keymux env)"} (or {@code keymux env | source} in fish) in a shell profile. With
 * the default socket path the line is guarded so a login without XDG_RUNTIME_DIR (ssh before any
 * graphical login) still works.
 */
@Command(name = "env", mixinStandardHelpOptions = true,
    description = "Print the shell command that sets SSH_AUTH_SOCK to keymux's socket.")
final class EnvCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--shell", paramLabel = "SHELL", description = "sh, bash, dash, zsh or fish; guessed from $SHELL (sh when unset).")
  String shell;

  @Option(names = "--config", paramLabel = "FILE", description = "keymux configuration file.")
  Path config;

  /**
   * The shells whose syntax keymux prints. All but fish share the POSIX line; csh and tcsh are
   * left out on purpose (no functions, different quoting), with a clear refusal.
   */
  enum Shell {
    SH, BASH, DASH, ZSH, FISH;

    static final String SUPPORTED = Arrays.stream(values()).map(s -> s.name().toLowerCase(Locale.ROOT))
        .collect(Collectors.joining(", "));

    /** The shell named by {@code --shell}, or else by $SHELL, or sh; a UserError for any other shell. */
    static Shell chosen(String option, Map<String, String> env) {
      if (option != null) {
        return named(option, "--shell " + option);
      }
      String login = env.getOrDefault("SHELL", "");
      return login.isEmpty() ? SH : named(login, "$SHELL=" + login + "; choose one with --shell");
    }

    /** By name or path ({@code /usr/bin/zsh}). */
    private static Shell named(String nameOrPath, String where) {
      String name = Path.of(nameOrPath).getFileName() == null ? "" : Path.of(nameOrPath).getFileName().toString();
      for (Shell s : values()) {
        if (s.name().toLowerCase(Locale.ROOT).equals(name)) {
          return s;
        }
      }
      throw new Main.UserError("unsupported shell '" + name + "' (" + where + "); supported: " + SUPPORTED);
    }

    boolean fish() {
      return this == FISH;
    }

    /** {@code s} as one word: POSIX single quotes, or fish's, which know {@code \'} and {@code \\}. */
    String quote(String s) {
      return fish() ? "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'" : "'" + s.replace("'", "'\\''") + "'";
    }

    /** The line that exports SSH_AUTH_SOCK=path. */
    String exportLine(Path socket) {
      return fish() ? "set -gx SSH_AUTH_SOCK " + quote(socket.toString()) + ";"
          : "SSH_AUTH_SOCK=" + quote(socket.toString()) + "; export SSH_AUTH_SOCK;";
    }

    /**
     * The line for the default socket: $XDG_RUNTIME_DIR/keymux/agent.sock (where keymux.socket
     * listens too), or the private /tmp fallback when XDG_RUNTIME_DIR is unset or empty.
     */
    String defaultSocketLine() {
      String fallback = quote("/tmp/keymux-" + Posix.currentUid() + "/agent.sock");
      if (fish()) {
        // fish's `set` keeps the status of the `test` before it; an if without else ends with 0.
        return "set -gx SSH_AUTH_SOCK " + fallback + "; if test -n \"$XDG_RUNTIME_DIR\"; "
            + "set -gx SSH_AUTH_SOCK \"$XDG_RUNTIME_DIR/keymux/agent.sock\"; end;";
      }
      return "if [ -n \"${XDG_RUNTIME_DIR:-}\" ]; then SSH_AUTH_SOCK=\"$XDG_RUNTIME_DIR/keymux/agent.sock\"; "
          + "else SSH_AUTH_SOCK=" + fallback + "; fi; export SSH_AUTH_SOCK;";
    }
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    Shell sh = Shell.chosen(shell, System.getenv());
    KeymuxSettings settings = Settings.load(config, Map.of());
    out.println(settings.socketPathIsDefault() ? sh.defaultSocketLine() : sh.exportLine(settings.socketPath()));
    out.flush();
    return 0;
  }
}
