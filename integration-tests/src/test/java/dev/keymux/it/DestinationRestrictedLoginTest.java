package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.Sshd;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ssh-add -h} through keymux on a real two-hop chain: two sshds on 127.0.0.1 (host_a and
 * host_b, told apart by their host keys), {@code ssh -A host_a} and from there {@code ssh host_b}
 * with the forwarded keymux. A key is listed and signs only where its hops allow.
 */
class DestinationRestrictedLoginTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir static Path dir;
  static Sshd hostA;
  static Sshd hostB;
  static KeymuxProcess keymux;
  static Path key;
  static Path knownHosts;
  static Path sshConfig;

  @BeforeAll
  static void start() throws Exception {
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed (apt-get install openssh-server)");
    key = TestKeys.generate(dir, "id_user", "ed25519", "restricted user key");
    Path authorized = dir.resolve("authorized_keys");
    Files.writeString(authorized, TestKeys.publicLine(key) + "\n");
    hostA = Sshd.start(Files.createDirectories(dir.resolve("a")), authorized);
    hostB = Sshd.start(Files.createDirectories(dir.resolve("b")), authorized);
    knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, "host_a " + TestKeys.publicLine(hostA.hostKeyPub()) + "\n"
        + "host_b " + TestKeys.publicLine(hostB.hostKeyPub()) + "\n");
    // One client configuration for both hops (the remote ssh on host_a reads the same file).
    sshConfig = dir.resolve("ssh_config");
    StringBuilder cfg = new StringBuilder();
    for (var h : List.of(Map.entry("host_a", hostA), Map.entry("host_b", hostB))) {
      cfg.append("Host ").append(h.getKey()).append("\n  HostName 127.0.0.1\n  Port ").append(h.getValue().port())
          .append("\n  HostKeyAlias ").append(h.getKey()).append('\n');
    }
    cfg.append("Host *\n  User ").append(System.getProperty("user.name"))
        .append("\n  UserKnownHostsFile ").append(knownHosts)
        .append("\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ForwardAgent yes\n  IdentitiesOnly no\n")
        .append("  IdentityFile ").append(dir.resolve("no-such-identity"))
        .append("\n  PreferredAuthentications publickey\n  ConnectTimeout 5\n");
    Files.writeString(sshConfig, cfg);
    keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("keymux")), Map.of(), "--debug");
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {keymux, hostA, hostB}) {
      if (c != null) {
        c.close();
      }
    }
  }

  @BeforeEach
  void emptyAgent() {
    sshAdd("-D").assertOk();
  }

  private static Proc.Result sshAdd(String... args) {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/ssh-add"));
    cmd.addAll(List.of(args));
    return Proc.run(T, keymux.env(), cmd.toArray(String[]::new));
  }

  private static void addRestricted(String... hops) {
    List<String> args = new ArrayList<>(List.of("-H", knownHosts.toString()));
    for (String h : hops) {
      args.addAll(List.of("-h", h));
    }
    args.add(key.toString());
    sshAdd(args.toArray(String[]::new)).assertOk();
  }

  /** {@code ssh host remote-command} with the client config, from this machine. */
  private static Proc.Result ssh(String host, String remoteCommand) {
    return Proc.run(T, keymux.env(), "/usr/bin/ssh", "-F", sshConfig.toString(), host, remoteCommand);
  }

  private static String viaHostB() {
    return "/usr/bin/ssh -F " + sshConfig + " host_b echo reached-b";
  }

  @Test
  void aKeyAllowedThroughTheChainLogsInAtBothHops() throws Exception {
    addRestricted("host_a", "host_a>host_b");
    assertEquals("at-a", ssh("host_a", "echo at-a").assertOk().stdout().trim());
    Proc.Result twoHops = ssh("host_a", viaHostB());
    assertEquals(0, twoHops.exitCode(), twoHops + "\nkeymux:\n" + keymux.log());
    assertEquals("reached-b", twoHops.stdout().trim());
    // A client on host_a sees the key through the forwarded agent: it may be used onwards.
    assertTrue(ssh("host_a", "ssh-add -l").assertOk().stdout().contains(TestKeys.fingerprint(key)));
  }

  @Test
  void aKeyForHostAOnlyCannotBeUsedFromThereOrForHostB() {
    addRestricted("host_a");
    assertEquals("at-a", ssh("host_a", "echo at-a").assertOk().stdout().trim());
    assertNotEquals(0, ssh("host_a", viaHostB()).exitCode(), "host_a>host_b was not allowed");
    assertEquals(1, ssh("host_a", "ssh-add -l").exitCode(), "host_a's clients do not see a key usable only to log in to host_a");
    assertNotEquals(0, ssh("host_b", "echo at-b").exitCode(), "the key is not for host_b");
    // Locally the key is still listed, as with OpenSSH's agent.
    assertTrue(sshAdd("-l").assertOk().stdout().contains(TestKeys.fingerprint(key)));
  }

  @Test
  void aUserOnTheLastHopMustMatch() {
    addRestricted("host_a", "host_a>nobody-here@host_b");
    assertNotEquals(0, ssh("host_a", viaHostB()).exitCode(), "the login to host_b is not as nobody-here");
    sshAdd("-D").assertOk();
    addRestricted("host_a", "host_a>" + System.getProperty("user.name") + "@host_b");
    assertEquals("reached-b", ssh("host_a", viaHostB()).assertOk().stdout().trim());
  }

  @Test
  void restrictionCombinesWithLifetimeAndIsShownByKeymuxList() {
    sshAdd("-t", "300", "-H", knownHosts.toString(), "-h", "host_a", key.toString()).assertOk();
    assertEquals("at-a", ssh("host_a", "echo at-a").assertOk().stdout().trim());
    Proc.Result list = Proc.run(T, keymux.env(), KeymuxProcess.command("list").toArray(String[]::new)).assertOk();
    assertTrue(list.stdout().contains("restricted to host_a") && list.stdout().contains("expires in"), list.stdout());
    Proc.Result explain = Proc.run(T, keymux.env(), KeymuxProcess.command("policy", "explain", "--key",
        TestKeys.fingerprint(key), "--host", "host_a").toArray(String[]::new)).assertOk();
    assertTrue(explain.stdout().contains("held as:  restricted to host_a"), explain.stdout());
  }
}
