package dev.keymux.core.contract;

import dev.keymux.core.agent.Agent;
import dev.keymux.core.keyring.InMemoryKeyring;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.mux.Multiplexer;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The multiplexer must behave like a single agent when it fronts a keyring and an empty backend. */
class MultiplexerContractTest extends AgentContract {
  @Override
  protected Agent agent() {
    KeyringDefaults d = new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(5), Map.of());
    InMemoryKeyring added = new InMemoryKeyring("added", d);
    InMemoryKeyring other = new InMemoryKeyring("other", d);
    return new Multiplexer(List.of(added, other), added, Duration.ofSeconds(2), Duration.ofSeconds(10));
  }
}
