package dev.keymux.cli.command;

import dev.keymux.cli.UserError;
import dev.keymux.cli.daemon.StartupTrace;
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
    // Guice the cheap way: keymux intercepts no methods, so no generated classes (they cost
    // start-up time and cannot go into the class-data archive), and no stack walk to record
    // where each binding was made. Set with -D, a user's choice wins.
    setDefault("guice_bytecode_gen_option", "DISABLED");
    setDefault("guice_include_stack_traces", "OFF");
    if (args.length == 1 && args[0].equals("serve")) {
      System.exit(ServeCommand.runWithoutOptions());
    }
    System.exit(commandLine().execute(args));
  }

  private static void setDefault(String property, String value) {
    if (System.getProperty(property) == null) {
      System.setProperty(property, value);
    }
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

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"keymux " + (v == null ? "(development build)" : v)};
    }
  }
}
