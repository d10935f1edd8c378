package dev.keymux.cli.command;

import dev.keymux.cli.Programs;
import dev.keymux.cli.Settings;
import dev.keymux.cli.SshTime;
import dev.keymux.cli.UserError;
import dev.keymux.cli.daemon.Grant;
import dev.keymux.cli.daemon.Grants;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Session;
import dev.keymux.core.client.AgentClient;
import dev.keymux.core.server.Posix;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code keymux grant}: a narrow, expiring socket for another uid — root under sudo, a service
 * account — offering only the keys named. The running keymux makes it ({@link Grants}); this
 * command asks on keymux's main socket and prints the SSH_AUTH_SOCK to use.
 */
@Command(name = "grant", mixinStandardHelpOptions = true,
    description = {"Let another uid (e.g. root under sudo) use some of your keys for a while, through a socket of its own.",
        "Example: sudo SSH_AUTH_SOCK=\"$(keymux grant --uid 0 --keys 'deploy-*' --for 10m -q)\" git fetch"})
final class GrantCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = {"--uid", "--user"}, required = true, paramLabel = "UID|USER",
      description = "Who may use the grant: a uid or a user name (0 or root for sudo).")
  String user;

  @Option(names = "--keys", required = true, split = ",", paramLabel = "PATTERN",
      description = "Keys to grant: comment patterns (deploy-*) or fingerprints (SHA256:...); repeat or separate with commas.")
  List<String> keys;

  @Option(names = "--for", paramLabel = "TIME", defaultValue = "10m",
      description = "How long the grant lasts, in ssh time format: 90s, 10m, 1h30m (default: ${DEFAULT-VALUE}).")
  String lifetime;

  @Option(names = "--confirm", description = "Ask before every signature made through the grant.")
  boolean confirm;

  @Option(names = {"-q", "--quiet"}, description = "Print only the socket path (for SSH_AUTH_SOCK=\"$(...)\").")
  boolean quiet;

  @Mixin MainSocket main;

  @Override
  public Integer call() {
    Duration d;
    try {
      d = SshTime.parse(lifetime);
    } catch (IllegalArgumentException e) {
      throw new UserError("--for: " + e.getMessage());
    }
    int uid = uidOf(user);
    byte[] request = new Grant.Request(uid, keys, d, confirm).encode();
    Grant g;
    try {
      g = Grant.read(ask(main.path(), Grant.GRANT, request));
    } catch (ProtocolException e) {
      throw new UserError("keymux's answer cannot be read: " + e.getMessage());
    }
    PrintWriter out = spec.commandLine().getOut();
    if (quiet) {
      out.println(g.socket());
      return 0;
    }
    out.println("Granted " + who(g.uid()) + " " + g.matched().size() + " key(s) for " + SshTime.format(d) + ", until "
        + time(g.expires()) + (g.confirm() ? "; every signature asks you first" : "") + ":");
    g.matched().forEach(k -> out.println("  " + k));
    out.println("SSH_AUTH_SOCK=" + g.socket());
    String as = g.uid() == 0 ? "sudo " : g.uid() == Posix.currentUid() ? "" : "sudo -u '#" + g.uid() + "' ";
    out.println("Use it as: " + as + "SSH_AUTH_SOCK=" + shellWord(g.socket().toString()) + " git fetch");
    out.println("Ends early with: keymux revoke " + g.id());
    return 0;
  }

  /** A uid as given, or the uid of a user name (through {@code id -u}, so NSS users work too). */
  static int uidOf(String user) {
    if (user.matches("\\d{1,10}")) {
      long uid = Long.parseLong(user);
      if (uid > Integer.MAX_VALUE) {
        throw new UserError("--uid " + user + " is out of range");
      }
      return (int) uid;
    }
    return Programs.uidOf(user).orElseThrow(() -> new UserError("no such user: " + user));
  }

  /** "uid 1001 (deploy)", or just "uid 1001" when the name cannot be found. */
  static String who(int uid) {
    return "uid " + uid + Programs.nameOf(uid).map(n -> " (" + n + ")").orElse("");
  }


  /** {@code s} as one sh word: as it is when plain, else single-quoted. */
  static String shellWord(String s) {
    return s.matches("[A-Za-z0-9_./:@%+=,-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
  }

  static String time(Instant t) {
    return DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault()).format(t);
  }

  /** Where the running keymux's main socket is: --socket, or the configured path. */
  static final class MainSocket {
    @Option(names = "--socket", paramLabel = "PATH", description = "keymux's main socket (default: from the configuration).")
    Path socket;

    @Option(names = "--config", paramLabel = "FILE", description = "keymux configuration file.")
    Path config;

    Path path() {
      return socket != null ? socket : Settings.load(config, Map.of()).socketPath();
    }
  }

  /** Sends one grant extension to keymux and opens its answer (a refusal becomes a UserError). */
  static SshReader ask(Path socket, String extension, byte[] request) {
    try (AgentClient client = new AgentClient(socket, Duration.ofSeconds(10))) {
      AgentResponse r = client.extension(Session.local(), extension, request);
      if (!(r instanceof AgentResponse.ExtensionResponse e)) {
        throw new UserError("unexpected answer from " + socket + ": " + r);
      }
      return Grant.opened(e.contents());
    } catch (AgentException e) {
      if (e.kind() == AgentException.Kind.UNREACHABLE) {
        throw new UserError("keymux is not running on " + socket + " (start it: keymux serve; or pass --socket)");
      }
      throw new UserError(socket + " refused " + extension + ": grants are made on keymux's main socket, "
          + "not on a scoped socket, a grant or another agent (" + e.getMessage() + ")");
    } catch (ProtocolException e) {
      throw new UserError("keymux's answer cannot be read: " + e.getMessage());
    }
  }

  /** {@code keymux grants}: the live grants. */
  @Command(name = "grants", mixinStandardHelpOptions = true, description = "List the live grants (keymux grant).")
  static final class ListGrants implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin MainSocket main;

    @Override
    public Integer call() {
      List<Grant> grants;
      try {
        grants = Grant.readAll(ask(main.path(), Grant.GRANTS, new byte[0]));
      } catch (ProtocolException e) {
        throw new UserError("keymux's answer cannot be read: " + e.getMessage());
      }
      PrintWriter out = spec.commandLine().getOut();
      if (grants.isEmpty()) {
        out.println("No live grants.");
        return 0;
      }
      out.printf("%-10s %-18s %-9s %-8s %-22s %s%n", "ID", "FOR", "UNTIL", "CONFIRM", "KEYS", "SOCKET");
      for (Grant g : grants) {
        out.printf("%-10s %-18s %-9s %-8s %-22s %s%n", g.id(), who(g.uid()).replace("uid ", ""), time(g.expires()),
            g.confirm() ? "yes" : "no", String.join(",", g.keys()), g.socket());
      }
      return 0;
    }
  }

  /** {@code keymux revoke}: ends grants before their time. */
  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "End a grant now: its socket and every connection through it go.")
  static final class Revoke implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(arity = "0..*", paramLabel = "ID", description = "Grants to end (ids from keymux grants).")
    List<String> ids = List.of();

    @Option(names = "--all", description = "End every live grant.")
    boolean all;

    @Mixin MainSocket main;

    @Override
    public Integer call() {
      if (all == !ids.isEmpty()) {
        throw new UserError("name the grants to end (ids from keymux grants), or --all");
      }
      Path socket = main.path();
      PrintWriter out = spec.commandLine().getOut();
      for (String id : all ? List.of("") : ids) {
        try {
          SshReader r = ask(socket, Grant.REVOKE, new SshWriter().writeString(id).toByteArray());
          long n = r.readUint32();
          for (long i = 0; i < n; i++) {
            out.println("revoked " + r.readUtf8());
          }
          if (n == 0) {
            out.println("No live grants.");
          }
        } catch (ProtocolException e) {
          throw new UserError("keymux's answer cannot be read: " + e.getMessage());
        }
      }
      return 0;
    }
  }
}
