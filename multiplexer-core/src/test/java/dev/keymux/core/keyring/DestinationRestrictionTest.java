package dev.keymux.core.keyring;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.agent.SessionBinding;
import dev.keymux.core.contract.SshAddCapture;
import dev.keymux.core.keys.SshPrivateKey;
import dev.keymux.core.keys.SshSignatures;
import dev.keymux.core.wire.AgentRequest.AddIdentity;
import dev.keymux.core.wire.KeyConstraint;
import dev.keymux.core.wire.KeyConstraint.DestinationConstraint;
import dev.keymux.core.wire.KeyConstraint.Hop;
import dev.keymux.core.wire.KeyConstraint.HostKey;
import dev.keymux.core.wire.SshWriter;
import dev.keymux.testing.Proc;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * restrict-destination as OpenSSH's agent applies it: real {@code ssh-add -h} requests (captured
 * from OpenSSH's ssh-add with a known_hosts file), sessions bound the way ssh binds them, and
 * user-auth requests built as ssh signs them. Signatures that are allowed are verified.
 */
class DestinationRestrictionTest {
  @TempDir static Path dir;
  static Path user;
  static Path knownHosts;
  static KeyBlob hostA;
  static KeyBlob hostB;
  static KeyBlob hostDCert; // host_d's certificate, signed by the host CA for principal host_d

  InMemoryKeyring keyring;

  @BeforeAll
  static void keys() throws Exception {
    user = TestKeys.generate(dir, "user", "ed25519", "user key");
    hostA = blobOf(TestKeys.generate(dir, "host_a", "ed25519", "host_a"));
    hostB = blobOf(TestKeys.generate(dir, "host_b", "ecdsa-256", "host_b"));
    Path ca = TestKeys.generate(dir, "host_ca", "ed25519", "host_ca");
    Path hostD = TestKeys.generate(dir, "host_d", "ed25519", "host_d");
    Proc.run(Duration.ofSeconds(30), Map.of(), "/usr/bin/ssh-keygen", "-q", "-s", ca.toString(), "-I", "host_d",
        "-n", "host_d", "-h", hostD + ".pub").assertOk();
    hostDCert = new KeyBlob(java.util.Base64.getDecoder().decode(
        Files.readString(Path.of(hostD + "-cert.pub")).trim().split(" ")[1]));
    knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, "host_a " + TestKeys.publicLine(Path.of(dir.resolve("host_a") + ".pub")) + "\n"
        + "host_b " + TestKeys.publicLine(Path.of(dir.resolve("host_b") + ".pub")) + "\n"
        + "@cert-authority host_* " + TestKeys.publicLine(Path.of(ca + ".pub")) + "\n");
  }

  private static KeyBlob blobOf(Path key) throws Exception {
    return new KeyBlob(java.util.Base64.getDecoder().decode(TestKeys.publicLine(Path.of(key + ".pub")).split(" ")[1]));
  }

  @BeforeEach
  void setUp() {
    keyring = new InMemoryKeyring("added", new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), Map.of()));
  }

  @AfterEach
  void tearDown() {
    keyring.close();
  }

  /** Adds the user key as {@code ssh-add -H known_hosts -h HOP...} sends it; returns its blob. */
  private KeyBlob add(String... hops) throws Exception {
    String[] args = new String[2 + 2 * hops.length];
    args[0] = "-H";
    args[1] = knownHosts.toString();
    for (int i = 0; i < hops.length; i++) {
      args[2 + 2 * i] = "-h";
      args[3 + 2 * i] = hops[i];
    }
    AddIdentity request = SshAddCapture.captureOne(dir, user, args);
    assertTrue(request.constraints().stream().anyMatch(c -> c instanceof KeyConstraint.RestrictDestination));
    keyring.add(Session.local(), request);
    try (SshPrivateKey k = SshPrivateKey.fromAgentWire(request.keyMaterial())) {
      return new KeyBlob(k.publicBlob());
    }
  }

  private static Session bound(Object... hostKeyThenForwarding) {
    Session s = Session.local();
    for (int i = 0; i < hostKeyThenForwarding.length; i += 2) {
      s.markBindAttempted();
      s.addBinding(new SessionBinding((KeyBlob) hostKeyThenForwarding[i], new byte[] {(byte) i, 1, 2},
          (Boolean) hostKeyThenForwarding[i + 1], new byte[0]));
    }
    return s;
  }

  /** What ssh signs for public-key user authentication (RFC 4252 §7), host-bound when hostKey != null. */
  private static byte[] userAuth(Session s, String userName, KeyBlob key, KeyBlob hostKey) {
    List<SessionBinding> b = s.bindings();
    SshWriter w = new SshWriter().writeString(b.get(b.size() - 1).sessionId()).writeByte(50).writeString(userName)
        .writeString("ssh-connection").writeString(hostKey == null ? "publickey" : "publickey-hostbound-v00@openssh.com")
        .writeBoolean(true).writeString(key.type()).writeString(key.bytes());
    if (hostKey != null) {
      w.writeString(hostKey.bytes());
    }
    return w.toByteArray();
  }

  private boolean listed(Session s, KeyBlob key) {
    return keyring.list(s).stream().map(Identity::key).anyMatch(key::equals);
  }

  @Test
  void locallyTheKeyIsListedButSignsOnlyLogins() throws Exception {
    KeyBlob key = add("host_a");
    Session local = Session.local();
    assertTrue(listed(local, key));
    AgentException e = assertThrows(AgentException.class, () -> keyring.sign(local, key, "data".getBytes(), 0));
    assertTrue(e.getMessage().contains("not bound to a host"), e.getMessage());
  }

  @Test
  void aKeyIsListedAndSignsOnlyForItsHost() throws Exception {
    KeyBlob key = add("host_a");
    Session toA = bound(hostA, false);
    Session toB = bound(hostB, false);
    assertTrue(listed(toA, key));
    assertFalse(listed(toB, key), "a key for host_a is not shown to a login to host_b");
    byte[] login = userAuth(toA, "alice", key, null);
    byte[] sig = keyring.sign(toA, key, login, 0);
    assertTrue(SshSignatures.verify(key.bytes(), sig, login));
    assertThrows(AgentException.class, () -> keyring.sign(toB, key, userAuth(toB, "alice", key, null), 0));
  }

  @Test
  void theLoginMustBeForTheLastBoundSessionAndItsHostKey() throws Exception {
    KeyBlob key = add("host_a");
    Session toA = bound(hostA, false);
    byte[] other = new SshWriter().writeString(new byte[] {9, 9}).writeByte(50).writeString("alice")
        .writeString("ssh-connection").writeString("publickey").writeBoolean(true).writeString(key.type())
        .writeString(key.bytes()).toByteArray();
    assertThrows(AgentException.class, () -> keyring.sign(toA, key, other, 0), "another session id");
    assertThrows(AgentException.class, () -> keyring.sign(toA, key, userAuth(toA, "alice", key, hostB), 0),
        "a host-bound login naming another host key");
    byte[] bound = userAuth(toA, "alice", key, hostA);
    assertTrue(SshSignatures.verify(key.bytes(), keyring.sign(toA, key, bound, 0), bound));
  }

  @Test
  void usersAreMatchedWithWildcards() throws Exception {
    KeyBlob key = add("ali*@host_a");
    Session toA = bound(hostA, false);
    keyring.sign(toA, key, userAuth(toA, "alice", key, null), 0);
    assertThrows(AgentException.class, () -> keyring.sign(toA, key, userAuth(toA, "bob", key, null), 0));
  }

  @Test
  void forwardedHopsMustEachBeAllowed() throws Exception {
    KeyBlob key = add("host_a", "host_a>host_b");
    Session viaA = bound(hostA, true, hostB, false);
    assertTrue(listed(viaA, key));
    byte[] login = userAuth(viaA, "alice", key, hostB);
    assertTrue(SshSignatures.verify(key.bytes(), keyring.sign(viaA, key, login, 0), login));
    assertThrows(AgentException.class, () -> keyring.sign(viaA, key, userAuth(viaA, "alice", key, null), 0),
        "past the first hop the login must name its host key");
    Session viaB = bound(hostB, true, hostA, false);
    assertFalse(listed(viaB, key), "host_b>host_a is not allowed");
  }

  @Test
  void atAForwardingHopOnlyKeysUsableOnwardsAreListed() throws Exception {
    KeyBlob onlyA = add("host_a");
    Session atA = bound(hostA, true); // ssh -A host_a: a client on host_a asks
    assertFalse(listed(atA, onlyA), "usable to log in to host_a, not beyond it");
    KeyBlob onwards = add("host_a", "host_a>host_b");
    assertTrue(listed(atA, onwards));
    assertThrows(AgentException.class, () -> keyring.sign(atA, onwards, userAuth(atA, "alice", onwards, null), 0),
        "no signing on a hop bound for forwarding");
  }

  @Test
  void aFailedSessionBindHidesRestrictedKeys() throws Exception {
    KeyBlob key = add("host_a");
    Session s = Session.local();
    s.markBindAttempted();
    assertFalse(listed(s, key));
  }

  @Test
  void hostCertificatesMatchByCaAndPrincipal() throws Exception {
    KeyBlob forD = add("host_d");
    Session toD = bound(hostDCert, false);
    assertTrue(listed(toD, forD));
    keyring.sign(toD, forD, userAuth(toD, "alice", forD, null), 0);
    KeyBlob forE = add("host_e");
    assertFalse(listed(toD, forE), "host_d's certificate does not name host_e");
  }

  @Test
  void inconsistentHopsAreRefused() {
    HostKey k = new HostKey(hostA, false);
    Hop origin = new Hop("", "", List.of());
    Hop a = new Hop("", "host_a", List.of(k));
    Clock c = Clock.systemUTC();
    assertThrows(AgentException.class, () -> DestinationRestriction.of(List.of(), c));
    assertThrows(AgentException.class, () -> DestinationRestriction.of(List.of(new DestinationConstraint(origin,
        new Hop("", "host_a", List.of()))), c), "a 'to' hop without keys");
    assertThrows(AgentException.class, () -> DestinationRestriction.of(List.of(new DestinationConstraint(
        new Hop("", "host_a", List.of()), a)), c), "a 'from' hop with a name but no keys");
    assertThrows(AgentException.class, () -> DestinationRestriction.of(List.of(new DestinationConstraint(
        new Hop("bob", "host_a", List.of(k)), a)), c), "a user on a 'from' hop");
    assertDoesNotThrow(() -> DestinationRestriction.of(List.of(new DestinationConstraint(origin, a)), c));
  }

  @Test
  void wildcardsAreOpenSshs() {
    assertTrue(DestinationRestriction.wildcardMatch("alice", "*"));
    assertTrue(DestinationRestriction.wildcardMatch("alice", "a?i*e"));
    assertTrue(DestinationRestriction.wildcardMatch("", "*"));
    assertFalse(DestinationRestriction.wildcardMatch("alice", "bob"));
    assertFalse(DestinationRestriction.wildcardMatch("alice", "alic"));
    assertFalse(DestinationRestriction.wildcardMatch("alice", "--BADUSER"));
  }

  @Test
  void theStateNamesTheRestriction() throws Exception {
    KeyBlob key = add("host_a", "host_a>bob@host_b");
    assertEquals("restricted to host_a, host_a>bob@host_b", keyring.keyState(key));
  }
}
