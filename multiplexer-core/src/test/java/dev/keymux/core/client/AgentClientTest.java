package dev.keymux.core.client;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Session;
import dev.keymux.testing.OpenSshAgent;
import dev.keymux.testing.Proc;
import dev.keymux.testing.SilentPeer;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/** The upstream client against a real ssh-agent, a stale socket, and a peer that never answers. */
class AgentClientTest {
  @TempDir Path dir;

  @Test
  void aStaleSocketIsUnreachableNotARefusal() throws Exception {
    Path stale = dir.resolve("stale.sock");
    AFUNIXServerSocket s = AFUNIXServerSocket.newInstance();
    s.bind(AFUNIXSocketAddress.of(stale.toFile()));
    s.setDeleteOnClose(false);
    s.close(); // the file stays, nobody listens: what a SIGKILLed agent leaves behind
    assertTrue(Files.exists(stale));
    try (AgentClient c = new AgentClient(stale, Duration.ofSeconds(2))) {
      AgentException e = assertThrows(AgentException.class, () -> c.list(Session.local()));
      assertEquals(AgentException.Kind.UNREACHABLE, e.kind(), e.getMessage());
      assertTrue(e.getMessage().toLowerCase().contains("refused"), e.getMessage());
    }
    try (AgentClient c = new AgentClient(dir.resolve("missing.sock"), Duration.ofSeconds(2))) {
      assertEquals(AgentException.Kind.UNREACHABLE, assertThrows(AgentException.class, () -> c.list(Session.local())).kind());
    }
  }

  @Test
  void aRefusedRequestIsAFailureOfTheRequestNotOfTheConnection() throws Exception {
    try (OpenSshAgent agent = OpenSshAgent.start(); AgentClient c = new AgentClient(agent.socket(), Duration.ofSeconds(5))) {
      long generation = c.connect();
      AgentException e = assertThrows(AgentException.class, () -> c.unlock("not locked".getBytes()));
      assertEquals(AgentException.Kind.FAILED, e.kind(), e.getMessage());
      assertEquals(generation, c.connect(), "the connection survives a refusal");
    }
  }

  @Test
  void aTimeoutDropsTheConnectionAndTheNextOneHasANewGeneration() throws Exception {
    Path path = dir.resolve("slow.sock");
    try (SilentPeer peer = new SilentPeer(path); AgentClient c = new AgentClient(path, Duration.ofMillis(300))) {
      long first = c.connect();
      assertEquals(first, c.connect(), "no reconnection while the connection is open");
      AgentException e = assertThrows(AgentException.class, () -> c.list(Session.local()));
      assertEquals(AgentException.Kind.UNREACHABLE, e.kind(), e.getMessage());
      assertTrue(e.getMessage().contains("did not answer within 300 ms"), e.getMessage());
      long second = c.connect();
      assertNotEquals(first, second, "state told to the old connection must be told again");
      peer.awaitAccepted(2);
    }
  }

  @Test
  void closeDoesNotWaitForARequestInFlightAndNothingReconnectsAfterwards() throws Exception {
    Path path = dir.resolve("silent.sock");
    try (SilentPeer peer = new SilentPeer(path)) {
      AgentClient c = new AgentClient(path, Duration.ofSeconds(20));
      CompletableFuture<Object> inFlight = CompletableFuture.supplyAsync(() -> {
        try {
          return c.list(Session.local());
        } catch (AgentException e) {
          return e;
        }
      });
      peer.awaitAccepted(1);
      Thread.sleep(200); // the request is written and waits for a reply

      long closing = System.nanoTime();
      c.close();
      long closeMillis = (System.nanoTime() - closing) / 1_000_000;
      assertTrue(closeMillis < 1000, "close took " + closeMillis + " ms (request timeout 20 s)");
      Object outcome = inFlight.get(3, TimeUnit.SECONDS);
      assertInstanceOf(AgentException.class, outcome, "the request in flight fails at once");
      assertEquals(AgentException.Kind.FAILED, ((AgentException) outcome).kind(), "a closed client is not an unreachable agent");

      AgentException after = assertThrows(AgentException.class, () -> c.list(Session.local()));
      assertTrue(after.getMessage().contains("closed"), after.getMessage());
      assertThrows(AgentException.class, c::connect);
      Thread.sleep(100);
      assertEquals(1, peer.accepted(), "no reconnection after close");
    }
  }

  @Test
  void closingAnIdleClientBeforeUseNeverConnects() throws Exception {
    Path path = dir.resolve("silent2.sock");
    try (SilentPeer peer = new SilentPeer(path)) {
      AgentClient c = new AgentClient(path, Duration.ofSeconds(2));
      c.close();
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> CompletableFuture.runAsync(() -> {
            try {
              c.connect();
            } catch (AgentException x) {
              throw new IllegalStateException(x);
            }
          }).get(3, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().contains("closed"));
      Thread.sleep(100);
      assertEquals(0, peer.accepted());
    }
  }

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
