package dev.keymux.backend.agent;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.agent.SessionBinding;
import dev.keymux.core.contract.SshAddCapture;
import dev.keymux.core.keys.SshPrivateKey;
import dev.keymux.core.wire.SshWriter;
import dev.keymux.testing.Proc;
import dev.keymux.testing.SshAgentAt;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The upstream backend against real OpenSSH ssh-agents: session bindings survive a dropped
 * upstream connection, a SIGKILLed agent's stale socket marks the upstream down until it is
 * back, and closing a client connection never waits for the upstream.
 */
class UpstreamAgentBackendTest {
  static final Duration T = Duration.ofSeconds(30);
  @TempDir static Path keys;
  @TempDir Path dir;
  static Path userKey;
  static SshPrivateKey otherHost;
  static Path knownHosts;
  final List<SshAgentAt> agents = new ArrayList<>();

  @BeforeAll
  static void keys() throws Exception {
    userKey = TestKeys.generate(keys, "user", "ed25519", "restricted user key");
    Path allowedHost = TestKeys.generate(keys, "allowed-host", "ed25519", "allowed host");
    otherHost = SshPrivateKey.fromAgentWire(SshAddCapture.captureOne(keys,
        TestKeys.generate(keys, "other-host", "ed25519", "other host")).keyMaterial());
    knownHosts = keys.resolve("known_hosts");
    Files.writeString(knownHosts, "allowed-host " + TestKeys.publicLine(allowedHost) + "\n");
  }

  @AfterEach
  void stopAgents() throws Exception {
    for (SshAgentAt a : agents) {
      a.close();
    }
  }

  private SshAgentAt sshAgent(Path socket) throws Exception {
    SshAgentAt a = SshAgentAt.start(socket);
    agents.add(a);
    return a;
  }

  private static UpstreamAgentBackend backend(Path socket, Duration requestTimeout, Duration backoff, Clock clock) {
    return new UpstreamAgentBackend("up", () -> Optional.of(socket), "", new UpstreamTimeouts(Duration.ofSeconds(2),
        requestTimeout, backoff, backoff.multipliedBy(4)), clock);
  }

  /** What ssh sends after key exchange with a host: the host's key signing the session id. */
  private static SessionBinding authBinding(SshPrivateKey host, byte[] sessionId) {
    byte[] sig = host.sign(sessionId, 0);
    byte[] message = new SshWriter().writeString(host.publicBlob()).writeString(sessionId).writeString(sig)
        .writeBoolean(false).toByteArray();
    return new SessionBinding(new KeyBlob(host.publicBlob()), sessionId, false, message);
  }

  private static boolean offersUserKey(List<Identity> ids) {
    return ids.stream().anyMatch(i -> i.comment().equals("restricted user key"));
  }

  @Test
  void sessionBindingsAreToldAgainAfterTheUpstreamConnectionDrops() throws Exception {
    Path agentSocket = dir.resolve("agent/sock");
    sshAgent(agentSocket);
    Proc.run(T, Map.of("SSH_AUTH_SOCK", agentSocket.toString()), "/usr/bin/ssh-add", "-H", knownHosts.toString(),
        "-h", "allowed-host", userKey.toString()).assertOk();
    try (Relay relay = new Relay(dir.resolve("relay.sock"), agentSocket)) {
      UpstreamAgentBackend up = backend(dir.resolve("relay.sock"), Duration.ofSeconds(5), Duration.ZERO, Clock.systemUTC());
      try (Session unbound = Session.local()) {
        assertTrue(offersUserKey(up.list(unbound)), "on an unbound connection the agent offers the key (local use)");
      }
      try (Session s = Session.local()) {
        // The client is ssh logged in to a host the key is not restricted to: the agent hides it.
        s.addBinding(authBinding(otherHost, new byte[] {7, 7, 7}));
        assertFalse(offersUserKey(up.list(s)), "the binding reached the upstream");
        int before = relay.accepted.get();

        relay.cut(); // the upstream connection of this client drops
        assertThrows(AgentException.class, () -> up.sign(s, new KeyBlob(new byte[] {0, 0, 0, 1, 'x'}), new byte[] {1}, 0));
        assertFalse(up.health().up(), "a dropped connection marks the upstream down");

        List<Identity> again = up.list(s);
        relay.awaitAccepted(before + 1);
        assertTrue(relay.accepted.get() > before, "a new upstream connection was opened");
        assertTrue(up.health().up(), up.health().toString());
        assertFalse(offersUserKey(again), "the new upstream connection was told the binding before the list");
      }
    }
  }

  @Test
  void aSigkilledUpstreamsStaleSocketMarksItDownUntilItIsBack() throws Exception {
    Path agentSocket = dir.resolve("agent/sock");
    SshAgentAt agent = sshAgent(agentSocket);
    Proc.run(T, Map.of("SSH_AUTH_SOCK", agentSocket.toString()), "/usr/bin/ssh-add", userKey.toString()).assertOk();
    Instant[] now = {Instant.parse("2030-01-01T00:00:00Z")};
    Clock clock = new Clock() {
      @Override public java.time.ZoneId getZone() { return ZoneOffset.UTC; }
      @Override public Clock withZone(java.time.ZoneId zone) { return this; }
      @Override public Instant instant() { return now[0]; }
    };
    UpstreamAgentBackend up = backend(agentSocket, Duration.ofSeconds(5), Duration.ofSeconds(1), clock);
    try (Session s = Session.local()) {
      assertTrue(offersUserKey(up.list(s)));
    }
    agent.kill(); // SIGKILL: the socket file stays, nothing listens
    assertTrue(Files.exists(agentSocket), "a SIGKILLed ssh-agent leaves its socket behind");

    try (Session s = Session.local()) {
      assertEquals(List.of(), up.list(s), "a dead upstream offers nothing and fails nothing");
    }
    assertFalse(up.health().up());
    assertTrue(up.health().detail().startsWith("upstream unavailable") && up.health().detail().contains("refused"),
        up.health().detail());

    sshAgent(agentSocket);
    Proc.run(T, Map.of("SSH_AUTH_SOCK", agentSocket.toString()), "/usr/bin/ssh-add", userKey.toString()).assertOk();
    try (Session s = Session.local()) {
      assertEquals(List.of(), up.list(s), "within the back-off the upstream is not asked");
      assertFalse(up.health().up());
    }
    now[0] = now[0].plusSeconds(2);
    try (Session s = Session.local()) {
      assertTrue(offersUserKey(up.list(s)), "after the back-off the restarted upstream answers");
      assertTrue(up.health().up(), up.health().toString());
    }
  }

  @Test
  void anUnreachableUpstreamWhileReplayingBindingsIsMarkedDown() throws Exception {
    Path agentSocket = dir.resolve("agent/sock");
    SshAgentAt agent = sshAgent(agentSocket);
    UpstreamAgentBackend up = backend(agentSocket, Duration.ofSeconds(5), Duration.ofSeconds(30), Clock.systemUTC());
    try (Session first = Session.local()) {
      up.list(first); // loop check done, upstream known to be fine
    }
    agent.kill();
    try (Session s = Session.local()) {
      s.addBinding(authBinding(otherHost, new byte[] {1, 2}));
      assertEquals(List.of(), up.list(s), "the replay's failure is the upstream's, not the request's");
      assertFalse(up.health().up(), "a failure while telling bindings marks the upstream down");
      AgentException e = assertThrows(AgentException.class, () -> up.sign(s, new KeyBlob(new byte[] {0, 0, 0, 1, 'x'}),
          new byte[] {1}, 0));
      assertTrue(e.getMessage().contains("is down; next try at"), "and it is backed off: " + e.getMessage());
    }
  }

  @Test
  void closingAClientConnectionNeverWaitsForAHungUpstreamAndNothingReconnects() throws Exception {
    Path agentSocket = dir.resolve("agent/sock");
    sshAgent(agentSocket);
    try (Relay relay = new Relay(dir.resolve("relay.sock"), agentSocket)) {
      UpstreamAgentBackend up = backend(dir.resolve("relay.sock"), Duration.ofSeconds(20), Duration.ZERO, Clock.systemUTC());
      Session s = Session.local();
      s.addBinding(authBinding(otherHost, new byte[] {3}));
      up.list(s); // link open, binding told
      int connections = relay.accepted.get();
      relay.hang();
      CompletableFuture<Object> inFlight = CompletableFuture.supplyAsync(() -> {
        try {
          return up.list(s);
        } catch (AgentException e) {
          return e;
        }
      });
      Thread.sleep(300); // the request waits for a reply that never comes

      long t0 = System.nanoTime();
      s.close(); // the client hung up
      long closeMillis = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(closeMillis < 1000, "closing took " + closeMillis + " ms (request timeout 20 s)");
      Object outcome = inFlight.get(3, TimeUnit.SECONDS);
      assertTrue(outcome instanceof AgentException || outcome instanceof List<?>, String.valueOf(outcome));
      assertTrue(up.health().up(), "a client hanging up is not the upstream's failure: " + up.health());
      Thread.sleep(200);
      assertEquals(connections, relay.accepted.get(), "no upstream connection opened after the client left");
    }
  }

  @Test
  void anUpstreamThatIsNotRunningOffersNothingAndIsNoError() throws Exception {
    Path[] where = {null};
    UpstreamAgentBackend up = new UpstreamAgentBackend("gnome", () -> Optional.ofNullable(where[0]), "GNOME Keyring not running",
        new UpstreamTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(60)),
        Clock.systemUTC());
    try (Session s = Session.local()) {
      assertEquals(Optional.of(List.of()), up.listAtOnce(s), "no socket: nothing to wait for");
      assertEquals(List.of(), up.list(s));
      assertTrue(up.health().up(), "not running is not a failure");
      assertEquals("GNOME Keyring not running", up.health().detail());
      assertEquals("", up.keyState(new KeyBlob(new byte[] {0, 0, 0, 1, 'x'})));
    }
    // It starts later: used at once (no back-off was started).
    Path agentSocket = dir.resolve("agent/sock");
    sshAgent(agentSocket);
    Proc.run(T, Map.of("SSH_AUTH_SOCK", agentSocket.toString()), "/usr/bin/ssh-add", userKey.toString()).assertOk();
    where[0] = agentSocket;
    try (Session s = Session.local()) {
      assertEquals(Optional.empty(), up.listAtOnce(s), "a running upstream is asked on a pool thread");
      assertTrue(offersUserKey(up.list(s)));
      assertEquals("ok", up.health().detail());
    }
  }
}
