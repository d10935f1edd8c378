package dev.keymux.cli;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code keymux} command. */
@Command(
    name = "keymux",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "One SSH agent socket in front of every key source.",
    subcommands = {
      ServeCommand.class,
      AgentCommand.class,
      CiCommand.class,
      ListCommand.class,
      EnvCommand.class,
      DoctorCommand.class,
      PolicyCommand.class,
      GrantCommand.class,
      GrantCommand.ListGrants.class,
      GrantCommand.Revoke.class,
      InstallCommand.class,
      UninstallCommand.class,
      TrainCommand.class,
      AutoComplete.GenerateCompletion.class
    })
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }

  public static void main(String[] args) {
    StartupTrace.mark("main");
    if (args.length == 1 && args[0].equals("serve")) {
      System.exit(ServeCommand.runWithoutOptions());
    }
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    // `keymux agent bash -l`: everything after the command belongs to the command.
    cl.getSubcommands().get("agent").setStopAtPositional(true);
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      if (ex instanceof UserError) {
        cmd.getErr().println("keymux: " + ex.getMessage());
        return 1;
      }
      throw ex;
    });
    return cl;
  }

  /** A problem the user can fix; printed as one line, without a stack trace. */
  static final class UserError extends RuntimeException {
    UserError(String message) {
      super(message);
    }

    UserError(String message, Throwable cause) {
      super(message, cause);
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"keymux " + (v == null ? "(development build)" : v)};
    }
  }
}
