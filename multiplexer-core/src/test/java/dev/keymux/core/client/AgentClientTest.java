package dev.keymux.core.client;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Session;
import dev.keymux.testing.OpenSshAgent;
import dev.keymux.testing.Proc;
import dev.keymux.testing.TestKeys;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The upstream client's lock and unlock against OpenSSH's own ssh-agent. */
class AgentClientTest {
  @TempDir Path dir;

  @Test
  void lockAndUnlockARealSshAgentAndLeaveTheCallersPassphraseAlone() throws Exception {
    Path key = TestKeys.generate(dir, "id", "ed25519", "lock test");
    try (OpenSshAgent real = OpenSshAgent.start(); AgentClient client = new AgentClient(real.socket(), Duration.ofSeconds(10))) {
      Proc.run(Duration.ofSeconds(30), real.env(), "/usr/bin/ssh-add", key.toString()).assertOk();
      Session s = Session.local();
      assertEquals(1, client.list(s).size());
      byte[] passphrase = "lock me".getBytes();
      client.lock(passphrase);
      assertEquals(0, client.list(s).size(), "a locked ssh-agent lists nothing");
      assertThrows(AgentException.class, () -> client.unlock("wrong".getBytes()));
      client.unlock(passphrase);
      assertEquals(1, client.list(s).size());
      // The client wipes only its own copy; the caller still owns (and wipes) the passphrase.
      assertArrayEquals("lock me".getBytes(), passphrase);
    }
  }
}
