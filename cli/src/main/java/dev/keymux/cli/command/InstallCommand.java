package dev.keymux.cli.command;

import dev.keymux.cli.UserError;
import dev.keymux.cli.setup.DaemonJvm;
import dev.keymux.cli.setup.Install;
import dev.keymux.cli.setup.ServiceAccount;
import dev.keymux.cli.setup.Shell;
import dev.keymux.cli.setup.UserUnits;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
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

  @Option(names = "--system", description = "As root: system units for a service account (--account) instead of your user units.")
  boolean system;

  @Option(names = "--account", paramLabel = "NAME", description = "With --system: the account the agent runs as and serves.")
  String account;

  @Option(names = "--keys", paramLabel = "FILE",
      description = "With --system: the deploy keys (unencrypted; '# repo: URL' lines as in keymux ci), copied to /etc/keymux/NAME/keys.")
  Path keys;

  /** Where /etc and /run are: the tests' stand-in for a machine. */
  @Option(names = "--system-root", paramLabel = "DIR", hidden = true)
  Path systemRoot = Path.of("/");

  @Override
  public Integer call() throws IOException {
    Map<String, String> env = System.getenv();
    if (system || account != null || keys != null) {
      return system(env);
    }
    return Install.run(spec.commandLine().getOut(), spec.commandLine().getErr(), env, Shell.chosen(shell, env), print,
        !noEnable, !noArchive);
  }

  private int system(Map<String, String> env) throws IOException {
    if (!system || account == null) {
      throw new UserError("--account and --keys go with --system, and --system needs --account NAME");
    }
    ServiceAccount s = new ServiceAccount(account, systemRoot);
    DaemonJvm.Java java = UserUnits.java(env);
    Path jar = UserUnits.runningJar();
    if (print) {
      s.print(spec.commandLine().getOut(), java, jar, !noArchive);
      return 0;
    }
    return s.install(spec.commandLine().getOut(), spec.commandLine().getErr(), java, jar,
        Optional.ofNullable(keys).map(Path::toAbsolutePath), !noArchive, !noEnable);
  }
}
