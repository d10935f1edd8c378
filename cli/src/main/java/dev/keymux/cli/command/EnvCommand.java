package dev.keymux.cli.command;

import dev.keymux.cli.Settings;
import dev.keymux.cli.setup.ServiceAccount;
import dev.keymux.cli.setup.Shell;
import dev.keymux.config.KeymuxSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code keymux env}: prints the line that points SSH_AUTH_SOCK at keymux, for
 * {@code eval "$(keymux env)"} (or {@code keymux env | source} in fish, {@code eval "`keymux env`"} in
 * csh) in a shell profile. With
 * the default socket path the line is guarded so a login without XDG_RUNTIME_DIR (ssh before any
 * graphical login) still works.
 */
@Command(name = "env", mixinStandardHelpOptions = true,
    description = "Print the shell command that sets SSH_AUTH_SOCK to keymux's socket.")
final class EnvCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--shell", paramLabel = "SHELL",
      description = "fish, csh or tcsh; any other name (sh, bash, dash, zsh, ksh, mksh, ash, ...) gets POSIX syntax. "
          + "Guessed from $SHELL (sh when unset).")
  String shell;

  @Option(names = "--config", paramLabel = "FILE", description = "keymux configuration file.")
  Path config;

  @Option(names = "--account", paramLabel = "NAME",
      description = "The line for jobs of service account NAME (keymux install --system --account NAME).")
  String account;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    Shell sh = Shell.chosen(shell, System.getenv());
    if (account != null) {
      out.println(sh.exportLine(new ServiceAccount(account, Path.of("/")).socket()));
      out.flush();
      return 0;
    }
    KeymuxSettings settings = Settings.load(config, Map.of());
    out.println(settings.socketPathIsDefault() ? sh.defaultSocketLine() : sh.exportLine(settings.socketPath()));
    out.flush();
    return 0;
  }
}
