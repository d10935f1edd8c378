package dev.keymux.cli;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Health;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.client.AgentClient;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code keymux list}: the keys the agent offers, with fingerprint, comment and backend. */
@Command(name = "list", mixinStandardHelpOptions = true,
    description = "List the keys keymux offers: type, fingerprint, comment, backend.")
final class ListCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = {"-a", "--socket"}, paramLabel = "PATH", description = "Agent socket (default: $SSH_AUTH_SOCK).")
  Path socket;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    Path path = socket;
    if (path == null) {
      String env = System.getenv("SSH_AUTH_SOCK");
      if (env == null || env.isEmpty()) {
        throw new Main.UserError("SSH_AUTH_SOCK is not set; pass --socket or run: eval \"$(keymux env)\"");
      }
      path = Path.of(env);
    }
    try (AgentClient client = new AgentClient(path, Duration.ofSeconds(10))) {
      AgentResponse r;
      try {
        r = client.extension(Session.local(), AgentProtocol.EXT_KEYMUX_LIST, new byte[0]);
      } catch (AgentException e) {
        if (e.kind() != AgentException.Kind.UNSUPPORTED) {
          throw e;
        }
        // Not keymux (a plain ssh-agent): list without backends.
        var ids = client.list(Session.local());
        ids.forEach(id -> print(out, id.key(), id.comment(), "-"));
        return ids.isEmpty() ? 1 : 0;
      }
      SshReader reader = new SshReader(((AgentResponse.ExtensionResponse) r).contents());
      long n = reader.readUint32();
      if (n == 0) {
        out.println("The agent has no identities.");
      }
      for (long i = 0; i < n; i++) {
        KeyBlob key = new KeyBlob(reader.readString());
        String comment = reader.readUtf8();
        String backend = reader.readUtf8();
        String state = reader.readUtf8();
        print(out, key, comment, state.isEmpty() ? backend : backend + " (" + state + ")");
      }
      if (reader.hasRemaining()) {
        long m = reader.readUint32();
        for (long i = 0; i < m; i++) {
          String name = reader.readUtf8();
          boolean up = reader.readBoolean();
          String detail = reader.readUtf8();
          if (!up) {
            out.println("backend " + name + ": " + detail);
          } else if (!detail.equals(Health.ok().detail())) {
            out.println("note: backend " + name + ": " + detail); // up, nothing to fix (e.g. GNOME not running)
          }
        }
      }
      return n == 0 ? 1 : 0;
    } catch (AgentException | ProtocolException | ClassCastException e) {
      throw new Main.UserError("cannot list keys from " + path + ": " + e.getMessage());
    }
  }

  private static void print(PrintWriter out, KeyBlob key, String comment, String backend) {
    out.printf("%-34s %-51s %-20s %s%n", key.type(), Fingerprints.sha256(key.bytes()), comment, backend);
  }
}
