package dev.keymux.cli.command;

import dev.keymux.cli.Settings;
import dev.keymux.cli.SshTime;
import dev.keymux.cli.UserError;
import dev.keymux.cli.daemon.Daemon;
import dev.keymux.config.ConfigLoader;
import dev.keymux.config.KeymuxConfigException;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.config.policy.AuditLog;
import dev.keymux.config.policy.ClientInfo;
import dev.keymux.config.policy.KeyFacts;
import dev.keymux.config.policy.PolicyRule;
import dev.keymux.config.policy.RulePolicy;
import dev.keymux.config.policy.SocketSettings;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.client.AgentClient;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.mux.KeyListing;
import dev.keymux.core.server.Posix;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.ProtocolException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code keymux policy}: check a policy file, and explain which rule decides a request. */
@Command(name = "policy", mixinStandardHelpOptions = true,
    description = "Check the policy in a configuration file, or explain which rule decides a request.",
    subcommands = {PolicyCommand.Check.class, PolicyCommand.Explain.class})
final class PolicyCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Validate a configuration file (default: the one keymux would read). Exit 0 when it is valid; "
          + "otherwise every problem with file:line and setting, exit 1.")
  static final class Check implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "FILE") Path file;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Map<String, String> env = System.getenv();
      Optional<Path> chosen = ConfigLoader.userFile(Optional.ofNullable(file), env);
      String name = chosen.map(Path::toString).orElse("the embedded defaults (no configuration file)");
      KeymuxSettings s;
      try {
        s = ConfigLoader.load(chosen, env, Posix.currentUid());
      } catch (KeymuxConfigException e) {
        err.println(name + ": " + e.problems().size() + " problem(s):");
        e.problems().forEach(p -> err.println("  " + p));
        return 1;
      }
      try {
        Daemon.closeAll(Daemon.buildBackends(s, env)); // each backend type checks its own block, as serve would
      } catch (IllegalArgumentException e) {
        List<String> problems = List.of(e.getMessage().split("\n"));
        err.println(name + ": " + problems.size() + " problem(s):");
        problems.forEach(p -> err.println("  " + p));
        return 1;
      }
      List<String> sockets = s.policy().sockets().stream().map(SocketSettings::name).toList();
      out.println(name + ": OK — " + s.policy().rules().size() + " rule(s), " + s.backends().size() + " backend(s), "
          + (sockets.isEmpty() ? "no scoped sockets" : "scoped sockets: " + String.join(", ", sockets))
          + ", default action " + s.policy().defaultAction().name().toLowerCase());
      return 0;
    }
  }

  @Command(name = "explain", mixinStandardHelpOptions = true,
      description = "Show which rule decides for a key, client, host and socket, and why each earlier rule did not.")
  static final class Explain implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "Configuration file (default: the one keymux would read).")
    Path config;

    @Option(names = "--key", required = true, paramLabel = "KEY",
        description = "Fingerprint (SHA256:…) or comment of the key. Looked up in the running agent when it answers.")
    String key;

    @Option(names = "--comment", paramLabel = "TEXT", description = "The key's comment, if the agent does not hold it.")
    String comment;

    @Option(names = "--type", paramLabel = "TYPE", description = "The key's type, if the agent does not hold it.")
    String type;

    @Option(names = "--backend", paramLabel = "NAME", description = "Backend(s) holding the key, if the agent does not hold it.")
    List<String> backends = new ArrayList<>();

    @Option(names = "--exe", paramLabel = "PATH", description = "The client's executable, e.g. /usr/bin/git.")
    String exe = "";

    @Option(names = "--cmdline", paramLabel = "TEXT", description = "The client's command line.")
    String cmdline = "";

    @Option(names = "--parent", paramLabel = "PATH", description = "An ancestor process of the client (repeatable).")
    List<String> parents = new ArrayList<>();

    @Option(names = "--uid", paramLabel = "UID", description = "The client's uid (default: yours).")
    Integer uid;

    @Option(names = "--host", paramLabel = "HOST", description = "The destination, looked up in known_hosts.")
    String host;

    @Option(names = "--forwarded", description = "The request arrives through agent forwarding.")
    boolean forwarded;

    @Option(names = "--socket", paramLabel = "NAME", description = "The socket the request arrives on (default: main).")
    String socket = RulePolicy.MAIN_SOCKET;

    @Option(names = {"-a", "--agent"}, paramLabel = "PATH", description = "Agent to look the key up in (default: $SSH_AUTH_SOCK).")
    Path agent;

    /** What the holder says of the key (ssh-add -h, -c, -t constraints), when the agent holds it. */
    private String heldState = "";

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      KeymuxSettings s = Settings.load(config, Map.of());
      RulePolicy policy = new RulePolicy(s.policy(), (pid, question) -> false, AuditLog.OFF, Clock.systemDefaultZone(),
          Path.of("/proc"), new java.util.concurrent.ConcurrentHashMap<>());
      if (!socket.equals(RulePolicy.MAIN_SOCKET) && s.policy().sockets().stream().noneMatch(x -> x.name().equals(socket))) {
        throw new UserError("no socket named " + socket + " is configured");
      }
      KeyFacts k = lookUp(s);
      String name = exe.isEmpty() ? "" : Path.of(exe).getFileName().toString();
      ClientInfo client = new ClientInfo(-1, exe, name, cmdline, parents);
      int clientUid = uid != null ? uid : Posix.currentUid();
      KeyBlob hostKey = null;
      out.printf("policy:   %s, %d rule(s)%n", ConfigLoader.userFile(Optional.ofNullable(config), System.getenv())
          .map(Path::toString).orElse("embedded defaults (no configuration file)"), s.policy().rules().size());
      out.printf("key:      %s  %s  comment %s  held by %s%n", k.sha256(), k.type(), k.comments(), k.backends());
      if (!heldState.isEmpty()) {
        // Enforced by the holder on every request, whatever the rules below decide.
        out.printf("held as:  %s%n", heldState);
      }
      out.printf("client:   %s, uid %d%s%n", client.describe(), clientUid, forwarded ? ", through agent forwarding" : "");
      out.printf("socket:   %s%n", socket);
      if (host != null) {
        List<KeyBlob> keys = policy.knownHosts().keysNamed(host);
        if (keys.isEmpty()) {
          out.printf("host:     %s is not in %s: rules with a destination cannot match it%n", host,
              policy.knownHosts().files().stream().filter(Files::exists).toList());
        } else {
          hostKey = keys.get(0);
          out.printf("host:     %s (host key %s %s)%n", host, hostKey.type(), Fingerprints.sha256(hostKey.bytes()));
        }
      } else {
        out.println("host:     none (not bound to a destination, like ssh-keygen -Y sign or ssh-add -l)");
      }
      out.println();
      var facts = policy.facts(socket, clientUid, client, hostKey, forwarded, k);
      SocketSettings scoped = s.policy().sockets().stream().filter(x -> x.name().equals(socket)).findFirst().orElse(null);
      if (scoped != null && !scoped.backends().stream().anyMatch(k.backends()::contains) && !k.backends().isEmpty()) {
        out.println("decision: not offered — socket " + socket + " offers only backends " + scoped.backends());
        return 0;
      }
      if (scoped != null && !scoped.admits(k)) {
        out.println("decision: not offered — socket " + socket + " offers only keys " + scoped.keys());
        return 0;
      }
      RulePolicy.Verdict v = policy.decide(facts, true);
      v.trace().forEach(line -> out.println("  " + line));
      PolicyRule r = v.rule();
      out.println((r == null ? "  no rule matches; default action applies" : "  " + r.label() + ": matches"));
      String action = v.action().name().toLowerCase();
      out.println();
      out.println("decision: " + action + (r != null && !r.remember().isZero() ? " (a yes is remembered " + SshTime.format(r.remember()) + ")" : "")
          + (r != null && !r.prefer().isEmpty() ? "; signs with " + r.prefer() + " first" : ""));
      return 0;
    }

    /** The key as the running agent knows it, or as the options describe it. */
    private KeyFacts lookUp(KeymuxSettings s) {
      Path sock = agent;
      if (sock == null) {
        String env = System.getenv("SSH_AUTH_SOCK");
        sock = env == null || env.isEmpty() ? s.socketPath() : Path.of(env);
      }
      if (Files.exists(sock)) {
        try (AgentClient c = new AgentClient(sock, Duration.ofSeconds(5))) {
          AgentResponse r = c.extension(Session.local(), AgentProtocol.EXT_KEYMUX_LIST, new byte[0]);
          for (KeyListing.Key k : KeyListing.decode(((AgentResponse.ExtensionResponse) r).contents()).keys()) {
            if (key.equals(Fingerprints.sha256(k.key().bytes())) || key.equals(k.comment())) {
              heldState = k.state();
              return KeyFacts.of(k.key(), List.of(k.comment()), List.of(k.backend()));
            }
          }
        } catch (AgentException | ProtocolException | RuntimeException e) {
          // not keymux, or not answering: fall back to the description
        }
      }
      boolean fp = key.startsWith("SHA256:");
      return KeyFacts.described(fp ? key : "(unknown fingerprint)", comment != null ? List.of(comment) : fp ? List.of() : List.of(key),
          type != null ? type : "(unknown type)", backends);
    }
  }
}
