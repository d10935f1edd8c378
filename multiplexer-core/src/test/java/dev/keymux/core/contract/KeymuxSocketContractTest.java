package dev.keymux.core.contract;

import dev.keymux.core.agent.Agent;
import dev.keymux.core.client.AgentClient;
import dev.keymux.core.keyring.InMemoryKeyring;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.mux.Multiplexer;
import dev.keymux.core.server.AgentLock;
import dev.keymux.core.server.AgentServer;
import dev.keymux.core.server.RequestDispatcher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** keymux end to end over its socket: client → server → dispatcher → multiplexer → keyring. */
class KeymuxSocketContractTest extends AgentContract {
  @Override
  protected Agent agent() throws Exception {
    KeyringDefaults d = new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(5), Map.of());
    InMemoryKeyring added = new InMemoryKeyring("added", d);
    Multiplexer mux = new Multiplexer(List.of(added), added, Duration.ofSeconds(2), Duration.ofSeconds(10));
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "kmx");
    AgentServer server = new AgentServer("main", dir.resolve("agent.sock"),
        new RequestDispatcher(mux, new AgentLock(Duration.ofSeconds(1)), mux::onLock), 8, Set.of());
    server.start();
    return new ClosingClient(server, mux, dir);
  }

  /** The client, closing the server behind it when the test ends. */
  static final class ClosingClient extends ForwardingAgent {
    ClosingClient(AgentServer server, Multiplexer mux, Path dir) {
      super(new AgentClient(server.socketPath(), Duration.ofSeconds(10)), () -> {
        server.close();
        mux.close();
        Files.deleteIfExists(dir);
      });
    }
  }
}
