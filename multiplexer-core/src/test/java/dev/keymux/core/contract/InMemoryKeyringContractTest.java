package dev.keymux.core.contract;

import dev.keymux.core.agent.Agent;
import dev.keymux.core.keyring.InMemoryKeyring;
import dev.keymux.core.keyring.KeyringDefaults;
import java.time.Duration;
import java.util.Map;

class InMemoryKeyringContractTest extends AgentContract {
  @Override
  protected Agent agent() {
    return new InMemoryKeyring("added", new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(5), Map.of()));
  }
}
