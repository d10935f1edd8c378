package dev.keymux.cli.command;

import dev.keymux.cli.Programs;
import dev.keymux.cli.UserError;
import dev.keymux.cli.setup.ServiceAccount;
import dev.keymux.cli.setup.UserUnits;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code keymux uninstall}: stops and disables the units (best effort: there may be no user
 * session), removes the unit files {@code keymux install} wrote, and keeps the configuration.
 */
@Command(name = "uninstall", mixinStandardHelpOptions = true,
    description = "Stop and disable keymux's systemd user units and remove the unit files keymux install wrote. "
        + "The configuration stays.")
final class UninstallCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--system", description = "As root: remove a service account's system units (--account).")
  boolean system;

  @Option(names = "--account", paramLabel = "NAME", description = "With --system: the service account.")
  String account;

  @Option(names = "--no-disable", description = "Remove the files without running systemctl.")
  boolean noDisable;

  /** Where /etc and /run are: the tests' stand-in for a machine. */
  @Option(names = "--system-root", paramLabel = "DIR", hidden = true)
  Path systemRoot = Path.of("/");

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (system || account != null) {
      if (!system || account == null) {
        throw new UserError("--account goes with --system, and --system needs --account NAME");
      }
      return new ServiceAccount(account, systemRoot).uninstall(out, err, !noDisable);
    }
    Map<String, String> env = System.getenv();
    Path units = UserUnits.unitDirectory(env);
    Programs.Outcome disable = UserUnits.systemctl("disable", "--now", UserUnits.SOCKET, UserUnits.SERVICE);
    if (disable.ok()) {
      out.println("stopped and disabled " + UserUnits.SOCKET + " and " + UserUnits.SERVICE);
    } else {
      out.println("could not stop or disable the units (" + disable.firstLine() + "); removing the files anyway");
    }
    int status = 0;
    for (String name : new String[] {UserUnits.SOCKET, UserUnits.SERVICE}) {
      Path unit = units.resolve(name);
      if (!Files.exists(unit)) {
        out.println("no " + unit);
      } else if (UserUnits.ours(unit)) {
        Files.delete(unit);
        out.println("removed " + unit);
      } else {
        err.println("keymux: left " + unit + ": keymux install did not write it");
        status = 1;
      }
    }
    if (disable.ok()) {
      UserUnits.systemctl("daemon-reload");
    }
    Path config = UserUnits.configHome(env).resolve("keymux").resolve("keymux.conf");
    if (Files.exists(config)) {
      out.println("kept the configuration " + config);
    }
    return status;
  }
}
