package dev.keymux.core.contract;

import dev.keymux.core.agent.Agent;
import dev.keymux.core.client.AgentClient;
import dev.keymux.testing.OpenSshAgent;
import java.time.Duration;

/** The reference: OpenSSH's own ssh-agent, reached through keymux's upstream client. */
class OpenSshAgentContractTest extends AgentContract {
  @Override
  protected Agent agent() throws Exception {
    OpenSshAgent real = OpenSshAgent.start();
    return new ForwardingAgent(new AgentClient(real.socket(), Duration.ofSeconds(10)), real::close);
  }
}
