package dev.keymux.cli.command;

import dev.keymux.cli.UserError;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Health;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.client.AgentClient;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.mux.KeyListing;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.ProtocolException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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
        throw new UserError("SSH_AUTH_SOCK is not set; pass --socket or run: eval \"$(keymux env)\"");
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
      KeyListing listing = KeyListing.decode(((AgentResponse.ExtensionResponse) r).contents());
      if (listing.keys().isEmpty()) {
        out.println("The agent has no identities.");
      }
      for (KeyListing.Key k : listing.keys()) {
        print(out, k.key(), k.comment(), k.state().isEmpty() ? k.backend() : k.backend() + " (" + k.state() + ")");
      }
      for (KeyListing.BackendHealth b : listing.backends()) {
        if (!b.health().up()) {
          out.println("backend " + b.name() + ": " + b.health().detail());
        } else if (!b.health().detail().equals(Health.ok().detail())) {
          out.println("note: backend " + b.name() + ": " + b.health().detail()); // up, nothing to fix (e.g. GNOME not running)
        }
      }
      return listing.keys().isEmpty() ? 1 : 0;
    } catch (AgentException | ProtocolException | ClassCastException e) {
      throw new UserError("cannot list keys from " + path + ": " + e.getMessage());
    }
  }

  private static void print(PrintWriter out, KeyBlob key, String comment, String backend) {
    out.printf("%-34s %-51s %-20s %s%n", key.type(), Fingerprints.sha256(key.bytes()), comment, backend);
  }
}
