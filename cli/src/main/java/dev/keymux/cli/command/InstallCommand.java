package dev.keymux.cli.command;

import dev.keymux.cli.setup.Install;
import dev.keymux.cli.setup.Shell;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code keymux install}: the systemd user units, a starter configuration when there is none,
 * and the line for the shell profile (the work: {@link Install}).
 */
@Command(name = "install", mixinStandardHelpOptions = true,
    description = {"Write systemd user units keymux.socket and keymux.service, enable the socket, "
        + "write a starter configuration if there is none, and print the shell line for SSH_AUTH_SOCK.",
        "Units go to $XDG_CONFIG_HOME/systemd/user (default ~/.config/systemd/user)."})
final class InstallCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--print", description = "Print the units instead of writing them; change nothing.")
  boolean print;

  @Option(names = "--no-enable", description = "Write the files but do not run systemctl (no user session, a container).")
  boolean noEnable;

  @Option(names = "--no-archive", description = "Do not make the class-data archive that makes keymux start faster.")
  boolean noArchive;

  @Option(names = "--shell", paramLabel = "SHELL", description = "Shell of the printed line: fish, csh or tcsh; any other name gets POSIX syntax. "
      + "Guessed from $SHELL (sh when unset).")
  String shell;

  @Override
  public Integer call() throws IOException {
    Map<String, String> env = System.getenv();
    return Install.run(spec.commandLine().getOut(), spec.commandLine().getErr(), env, Shell.chosen(shell, env), print,
        !noEnable, !noArchive);
  }
}
