package dev.keymux.cli.command;

import dev.keymux.backend.file.PreloadedKeys;
import dev.keymux.cli.UserError;
import dev.keymux.cli.daemon.Headless;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code keymux ci start|stop}: the CI step "load the deploy keys into an agent". {@code start}
 * is {@code ssh-agent -s} for a headless keymux holding the keys in {@code KEYMUX_KEYS};
 * {@code stop} is {@code ssh-agent -k} that also removes the socket.
 */
@Command(name = "ci", mixinStandardHelpOptions = true,
    description = "Headless agent for CI jobs: eval \"$(keymux ci start)\" ... keymux ci stop.",
    subcommands = {CiCommand.Start.class, CiCommand.Stop.class})
final class CiCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }

  @Command(name = "start", mixinStandardHelpOptions = true,
      description = "Start a headless keymux with the keys in $" + Headless.KEYS_VARIABLE
          + " (and key files of the configuration) and print the shell commands to use it, like ssh-agent -s.")
  static final class Start implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "-a", paramLabel = "BIND_ADDRESS", description = "Bind the agent to this socket path (default: a fresh private directory under $TMPDIR or /tmp).")
    Path bindAddress;

    @Option(names = "-c", description = "Print C-shell commands.")
    boolean csh;

    @Option(names = "--config", paramLabel = "FILE", description = "keymux configuration file.")
    Path config;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      String text = System.getenv(Headless.KEYS_VARIABLE);
      List<String> args = new ArrayList<>(List.of("--headless"));
      byte[] keys = null;
      if (text != null && !text.isBlank()) {
        args.add("--keys-from-stdin"); // not through the environment: the daemon's is readable in /proc
        keys = text.getBytes(StandardCharsets.UTF_8);
        check(keys);
      }
      if (config != null) {
        args.addAll(List.of("--config", config.toAbsolutePath().toString()));
      }
      Path socket = bindAddress != null ? bindAddress.toAbsolutePath() : AgentCommand.defaultSocket();
      Process daemon;
      try {
        daemon = AgentCommand.spawnDaemon(socket, bindAddress == null, args, keys, Optional.empty());
      } catch (UserError e) {
        if (bindAddress == null) { // our fresh directory
          Files.deleteIfExists(socket.getParent());
        }
        throw e;
      }
      AgentCommand.printEnv(out, csh, socket, daemon.pid());
      return 0;
    }

    /**
     * Reads the keys here first so that a key keymux cannot use (a passphrase, a bad block, a
     * repository that is not a git ssh URL) is reported as it is, before any agent starts.
     */
    private static void check(byte[] keys) {
      byte[] copy = keys.clone();
      List<PreloadedKeys.Key> parsed = List.of();
      try {
        parsed = PreloadedKeys.parse(copy, Headless.KEYS_VARIABLE);
        Headless.rules(parsed, List.of());
      } catch (IllegalArgumentException e) {
        Arrays.fill(keys, (byte) 0);
        throw new UserError(e.getMessage(), e);
      } finally {
        Arrays.fill(copy, (byte) 0);
        parsed.forEach(k -> k.key().close());
      }
    }
  }

  @Command(name = "stop", mixinStandardHelpOptions = true,
      description = "Stop the agent named by SSH_AGENT_PID, remove its socket, and print the shell commands to unset it, like ssh-agent -k.")
  static final class Stop implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "-c", description = "Print C-shell commands.")
    boolean csh;

    @Override
    public Integer call() {
      AgentCommand.kill(spec.commandLine().getOut(), csh, true);
      return 0;
    }
  }
}
