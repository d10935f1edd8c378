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
    String kind = shell != null ? shell : System.getenv().getOrDefault("SHELL", "sh");
    boolean fish = kind.endsWith("fish");
    KeymuxSettings settings = Settings.load(config, Map.of());
    String fallback = "/tmp/keymux-" + dev.keymux.core.server.Posix.currentUid() + "/agent.sock";
    boolean defaultPath = settings.socketPathIsDefault();
    if (!defaultPath) {
      out.println(fish ? "set -gx SSH_AUTH_SOCK " + quote(settings.socketPath().toString()) + ";"
          : "SSH_AUTH_SOCK=" + quote(settings.socketPath().toString()) + "; export SSH_AUTH_SOCK;");
    } else if (fish) {
      out.println("if set -q XDG_RUNTIME_DIR; set -gx SSH_AUTH_SOCK \"$XDG_RUNTIME_DIR/keymux/agent.sock\"; "
          + "else; set -gx SSH_AUTH_SOCK " + quote(fallback) + "; end;");
    } else {
      out.println("if [ -n \"${XDG_RUNTIME_DIR:-}\" ]; then SSH_AUTH_SOCK=\"$XDG_RUNTIME_DIR/keymux/agent.sock\"; "
          + "else SSH_AUTH_SOCK=" + quote(fallback) + "; fi; export SSH_AUTH_SOCK;");
    }
    return 0;
  }

  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }
}
