package dev.keymux.cli.command;

import dev.keymux.cli.SshTime;
import dev.keymux.cli.UserError;
import dev.keymux.cli.daemon.Headless;
import dev.keymux.cli.daemon.Serve;
import dev.keymux.core.client.AgentClient;
import dev.keymux.core.server.Posix;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code keymux agent}: a drop-in for OpenSSH's {@code ssh-agent}, with its flags and its output,
 * so {@code eval "$(keymux agent -s)"}, {@code keymux agent -k} and {@code keymux agent CMD}
 * work in scripts written for ssh-agent. The daemon is a separate JVM; SSH_AGENT_PID is its pid.
 */
@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "ssh-agent drop-in: start a keymux agent and print the shell commands to use it.")
final class AgentCommand implements Callable<Integer> {
  private static final long READY_TIMEOUT_MILLIS = 30_000;

  @Spec CommandSpec spec;

  @Option(names = "-a", paramLabel = "BIND_ADDRESS", description = "Bind the agent to this socket path.")
  Path bindAddress;

  @Option(names = "-c", description = "Print C-shell commands.")
  boolean csh;

  @Option(names = "-s", description = "Print Bourne shell commands.")
  boolean sh;

  @Option(names = "-d", description = "Debug mode: stay in the foreground and log debug messages.")
  boolean debug;

  @Option(names = "-D", description = "Foreground mode: do not fork.")
  boolean foreground;

  @Option(names = "-k", description = "Kill the agent named by SSH_AGENT_PID.")
  boolean kill;

  @Option(names = "-t", paramLabel = "LIFE", description = "Default lifetime of added keys (seconds or 1h30m style).")
  String lifetime;

  @Option(names = "-E", paramLabel = "HASH", description = "Fingerprint hash used in logs: sha256 or md5.")
  String fingerprintHash;

  @Option(names = "-P", paramLabel = "ALLOWLIST", description = "Allowed PKCS#11 provider paths (comma-separated patterns).")
  String providers;

  @Option(names = "--config", paramLabel = "FILE", description = "keymux configuration file.")
  Path config;

  @Option(names = "--log", paramLabel = "FILE",
      description = "Append the agent's log to FILE (default: start-up errors are shown, later lines are not kept).")
  Path logFile;

  @Parameters(arity = "0..*", paramLabel = "COMMAND", description = "Run COMMAND [ARGS] with the agent; the agent exits with it.")
  List<String> command = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (csh && sh) {
      throw new UserError("-c and -s are mutually exclusive");
    }
    boolean cshell = csh || (!sh && System.getenv().getOrDefault("SHELL", "").endsWith("csh"));
    if (kill) {
      return kill(out, cshell);
    }
    if ((debug || foreground) && !command.isEmpty()) {
      throw new UserError("-d and -D cannot be combined with a command");
    }
    if (lifetime != null) {
      try {
        SshTime.parse(lifetime);
      } catch (IllegalArgumentException e) {
        throw new UserError("Invalid lifetime: " + lifetime);
      }
    }
    Path socket = bindAddress != null ? bindAddress.toAbsolutePath() : defaultSocket();
    if (debug || foreground) {
      ServeCommand serve = serveOptions(socket);
      serve.debug = debug;
      serve.removeSocketDirectory = bindAddress == null;
      return Serve.run(serve.options(), s -> {
        printEnv(out, cshell, s, ProcessHandle.current().pid());
        out.flush();
      });
    }
    Process daemon = spawnDaemon(socket);
    if (command.isEmpty()) {
      printEnv(out, cshell, socket, daemon.pid());
      return 0;
    }
    ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
    pb.environment().put("SSH_AUTH_SOCK", socket.toString());
    pb.environment().put("SSH_AGENT_PID", Long.toString(daemon.pid()));
    try {
      Process child = pb.start();
      return child.waitFor();
    } catch (IOException e) {
      throw new UserError("cannot run " + command.get(0) + ": " + e.getMessage());
    } finally {
      daemon.destroy();
      daemon.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** Like ssh-agent: a fresh 0700 directory {@code $TMPDIR/ssh-XXXX} holding {@code agent.<ppid>}. */
  static Path defaultSocket() throws IOException {
    Path tmp = Path.of(System.getenv().getOrDefault("TMPDIR", "/tmp"));
    Path dir = Files.createTempDirectory(tmp, "ssh-", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    long ppid = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(ProcessHandle.current().pid());
    return dir.resolve("agent." + ppid);
  }

  private ServeCommand serveOptions(Path socket) {
    ServeCommand s = new ServeCommand();
    s.socket = socket;
    s.lifetime = lifetime;
    s.fingerprintHash = fingerprintHash;
    s.providers = providers;
    s.config = config;
    return s;
  }

  /** Starts {@code keymux serve} as a detached JVM and waits until its socket answers. */
  private Process spawnDaemon(Path socket) throws IOException, InterruptedException {
    List<String> args = new ArrayList<>();
    if (lifetime != null) {
      args.addAll(List.of("-t", lifetime));
    }
    if (fingerprintHash != null) {
      args.addAll(List.of("-E", fingerprintHash));
    }
    if (providers != null) {
      args.addAll(List.of("-P", providers));
    }
    if (config != null) {
      args.addAll(List.of("--config", config.toAbsolutePath().toString()));
    }
    return spawnDaemon(socket, bindAddress == null, args, null, Optional.ofNullable(logFile));
  }

  /**
   * Starts {@code keymux serve -a SOCKET ARGS} as a detached JVM (own session) and waits until its
   * socket answers. Its stderr goes to {@code log} when given; otherwise this command reads it
   * until the agent answers (to show why a start failed) and then lets go, so nothing is left
   * beside the socket. {@code ownDirectory}: the socket's directory was made for this agent, which
   * removes it when it ends. {@code stdin}, when given, is written to the daemon's stdin and wiped;
   * otherwise its stdin is /dev/null. The daemon does not inherit {@code KEYMUX_KEYS}: keys reach
   * it only through stdin.
   */
  static Process spawnDaemon(Path socket, boolean ownDirectory, List<String> serveArgs, byte[] stdin, Optional<Path> log)
      throws IOException, InterruptedException {
    Posix.prepareSocketDirectory(socket.getParent());
    String java = ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
    List<String> cmd = new ArrayList<>();
    if (new File("/usr/bin/setsid").canExecute()) {
      cmd.add("/usr/bin/setsid"); // own session: the agent outlives the terminal that started it
    }
    cmd.addAll(List.of(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve", "-a", socket.toString()));
    if (ownDirectory) {
      cmd.add("--remove-socket-directory");
    }
    cmd.addAll(serveArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectInput(stdin == null ? ProcessBuilder.Redirect.from(new File("/dev/null")) : ProcessBuilder.Redirect.PIPE)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(log.isPresent() ? ProcessBuilder.Redirect.appendTo(log.get().toFile()) : ProcessBuilder.Redirect.PIPE);
    pb.environment().remove(Headless.KEYS_VARIABLE);
    Process p = pb.start();
    StartupLog startup = log.isPresent() ? null : StartupLog.reading(p);
    if (stdin != null) {
      try (var in = p.getOutputStream()) {
        in.write(stdin);
      } catch (IOException e) {
        // the daemon exited before reading (its log says why; reported below)
      } finally {
        Arrays.fill(stdin, (byte) 0);
      }
    }
    long deadline = System.currentTimeMillis() + READY_TIMEOUT_MILLIS;
    while (System.currentTimeMillis() < deadline) {
      if (!p.isAlive()) {
        p.waitFor();
        throw new UserError("agent failed to start (exit " + p.exitValue() + "):\n" + tail(startup, log));
      }
      if (AgentClient.answers(socket)) {
        if (startup != null) {
          startup.letGo();
        }
        return p;
      }
      Thread.sleep(25);
    }
    p.destroyForcibly();
    throw new UserError("agent did not start within " + READY_TIMEOUT_MILLIS / 1000 + " s:\n" + tail(startup, log));
  }

  private static String tail(StartupLog startup, Optional<Path> log) {
    List<String> lines;
    if (startup != null) {
      lines = startup.lines();
    } else {
      try {
        lines = Files.readAllLines(log.get());
      } catch (IOException e) {
        return "(no log at " + log.get() + ")";
      }
    }
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
  }

  /**
   * The agent's stderr, read on a thread of its own so the agent never blocks on it: kept while
   * the agent starts, dropped once it answers. When this process ends, so does the pipe, and
   * the agent's later writes to stderr fail quietly.
   */
  private static final class StartupLog {
    private final Process p;
    private final List<String> lines = new ArrayList<>(); // guarded by itself
    private boolean keep = true; // guarded by lines
    private final Thread reader;

    private StartupLog(Process p) {
      this.p = p;
      this.reader = new Thread(this::read, "keymux-agent-log");
      reader.setDaemon(true);
    }

    static StartupLog reading(Process p) {
      StartupLog l = new StartupLog(p);
      l.reader.start();
      return l;
    }

    private void read() {
      try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(p.getErrorStream(),
          java.nio.charset.StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          synchronized (lines) {
            if (keep) {
              lines.add(line);
            }
          }
        }
      } catch (IOException e) {
        // the agent ended
      }
    }

    /** All it printed; waits a moment for the last lines of an agent that has ended. */
    List<String> lines() {
      try {
        reader.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (lines) {
        return List.copyOf(lines);
      }
    }

    /** The agent answers: from now on its lines are read and dropped. */
    void letGo() {
      synchronized (lines) {
        keep = false;
        lines.clear();
      }
    }
  }

  static void printEnv(PrintWriter out, boolean cshell, Path socket, long pid) {
    if (cshell) {
      out.printf("setenv SSH_AUTH_SOCK %s;%n", socket);
      out.printf("setenv SSH_AGENT_PID %d;%n", pid);
    } else {
      out.printf("SSH_AUTH_SOCK=%s; export SSH_AUTH_SOCK;%n", socket);
      out.printf("SSH_AGENT_PID=%d; export SSH_AGENT_PID;%n", pid);
    }
    out.printf("echo Agent pid %d;%n", pid);
  }

  private int kill(PrintWriter out, boolean cshell) {
    kill(out, cshell, false);
    return 0;
  }

  /**
   * ssh-agent -k: ends the agent named by SSH_AGENT_PID and prints the unset lines. With
   * {@code removeSocket}, also waits for it to exit and removes SSH_AUTH_SOCK's socket (if it is
   * still there), its log and the directory when nothing else is left in it.
   */
  static void kill(PrintWriter out, boolean cshell, boolean removeSocket) {
    String pidText = System.getenv("SSH_AGENT_PID");
    if (pidText == null || pidText.isBlank()) {
      throw new UserError("SSH_AGENT_PID not set, cannot kill agent");
    }
    long pid;
    try {
      pid = Long.parseLong(pidText.trim());
    } catch (NumberFormatException e) {
      throw new UserError("SSH_AGENT_PID=\"" + pidText + "\", which is not a good PID");
    }
    Optional<ProcessHandle> agent = ProcessHandle.of(pid);
    if (pid < 1 || agent.isEmpty()) {
      throw new UserError("kill: No such process (pid " + pid + ")");
    }
    agent.get().destroy();
    if (removeSocket) {
      removeSocket(agent.get());
    }
    String unset = cshell ? "unsetenv" : "unset";
    out.printf("%s SSH_AUTH_SOCK;%n%s SSH_AGENT_PID;%necho Agent pid %d killed;%n", unset, unset, pid);
  }

  private static void removeSocket(ProcessHandle agent) {
    try {
      agent.onExit().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new UserError("agent pid " + agent.pid() + " did not exit within 10 s");
    }
    String sock = System.getenv("SSH_AUTH_SOCK");
    if (sock == null || sock.isBlank()) {
      return;
    }
    Path socket = Path.of(sock);
    try {
      // keymux removes its socket on SIGTERM; this covers an agent that could not.
      if (Files.exists(socket, java.nio.file.LinkOption.NOFOLLOW_LINKS)
          && Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class,
              java.nio.file.LinkOption.NOFOLLOW_LINKS).isOther()) {
        Files.delete(socket);
      }
      Path dir = socket.getParent();
      // Ours (defaultSocket), not a chosen one; a keymux agent removes it itself, an older one may not have.
      if (dir != null && dir.getFileName().toString().startsWith("ssh-")
          && Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        try (var rest = Files.list(dir)) {
          if (rest.findAny().isEmpty()) {
            Files.delete(dir);
          }
        }
      }
    } catch (IOException e) {
      throw new UserError("cannot remove " + socket + ": " + e.getMessage());
    }
  }
}
