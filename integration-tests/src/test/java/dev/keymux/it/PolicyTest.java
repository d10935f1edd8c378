package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.client.AgentClient;
import dev.keymux.testing.OpenSshAgent;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.Sshd;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The policy against real OpenSSH: two sshds with different host keys that allow only two tries
 * (MaxAuthTries 2), eight keys in the agent, known_hosts hashed by ssh-keygen. keymux offers each
 * host its own key first because the client's session-bind names the host; deny, hide and
 * confirm hold for real clients; a broken configuration on reload changes nothing.
 */
class PolicyTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir static Path dir;
  static Sshd alpha;
  static Sshd beta;
  static Path knownHosts;
  static Path audit;
  static Path answer;
  static Path askpass;
  static Path config;
  static Path pubs;
  static final List<Path> keys = new ArrayList<>();
  static KeymuxProcess keymux;

  static String rules(String extra) {
    return """
        keymux {
          backends { files = null, gnome = null }
          policy.known-hosts = ["%s"]
          policy.audit-log = "%s"
          rules = [
            { name = alpha, match { destination = alpha.test, comment = key-7 } }
            { name = beta, match { destination = beta.test, comment = key-8 } }
            %s
            { name = hidden, match { comment = key-2 }, action = hide }
            { name = ask, match { comment = key-3 }, action = confirm }
          ]
        }
        """.formatted(knownHosts, audit, extra);
  }

  static final String DENY_KEY_1 = "{ name = denied, match { comment = key-1 }, action = deny }";

  @BeforeAll
  static void start() throws Exception {
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed (apt-get install openssh-server)");
    Path keyDir = Files.createDirectories(dir.resolve("keys"));
    pubs = Files.createDirectories(dir.resolve("pubs")); // public halves alone: clients must use the agent
    for (int i = 1; i <= 8; i++) {
      Path k = TestKeys.generate(keyDir, "key" + i, "ed25519", "key-" + i);
      keys.add(k);
      Files.copy(Path.of(k + ".pub"), pubs.resolve("key" + i + ".pub"));
    }
    alpha = server("alpha", keys.get(6));
    beta = server("beta", keys.get(7));
    knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, "alpha.test " + TestKeys.publicLine(alpha.hostKeyPub()) + "\n"
        + "beta.test " + TestKeys.publicLine(beta.hostKeyPub()) + "\n");
    Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-q", "-H", "-f", knownHosts.toString()).assertOk();
    audit = dir.resolve("audit.log");
    answer = dir.resolve("answer");
    Files.writeString(answer, "yes");
    askpass = dir.resolve("askpass");
    Files.writeString(askpass, "#!/bin/sh\nif [ \"$(cat " + answer + ")\" = yes ]; then echo yes; else exit 1; fi\n");
    Files.setPosixFilePermissions(askpass, PosixFilePermissions.fromString("rwx------"));
    config = dir.resolve("keymux.conf");
    Files.writeString(config, rules(DENY_KEY_1));
    keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("keymux")),
        Map.of("SSH_ASKPASS", askpass.toString(), "SSH_ASKPASS_REQUIRE", "force"), "--config", config.toString());
    for (Path k : keys) { // added in order: key-1 .. key-8, the keys the servers accept last
      Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-q", k.toString()).assertOk();
    }
  }

  static Sshd server(String name, Path accepted) throws Exception {
    Path d = Files.createDirectories(dir.resolve(name));
    Path authorized = d.resolve("authorized_keys");
    Files.writeString(authorized, TestKeys.publicLine(accepted) + "\n");
    return Sshd.start(d, authorized, List.of("MaxAuthTries 2"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (keymux != null) {
      keymux.close();
    }
    for (Sshd s : new Sshd[] {alpha, beta}) {
      if (s != null) {
        s.close();
      }
    }
  }

  /** ssh to {@code server} under a host name known only from the shared, hashed known_hosts. */
  static List<String> ssh(Sshd server, String alias) {
    return List.of("/usr/bin/ssh", "-F", "/dev/null", "-p", Integer.toString(server.port()),
        "-o", "HostKeyAlias=" + alias, "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=no", "-o", "PreferredAuthentications=publickey",
        "-o", "ConnectTimeout=5", System.getProperty("user.name") + "@127.0.0.1", "echo logged-in");
  }

  static Proc.Result run(Map<String, String> env, List<String> cmd) {
    return Proc.run(T, env, cmd.toArray(String[]::new));
  }

  @Test
  void eachHostIsOfferedItsOwnKeyFirstAndTheLoginSucceedsWithinTwoTries() throws Exception {
    for (var target : List.of(Map.entry(alpha, "alpha.test"), Map.entry(beta, "beta.test"))) {
      Proc.Result r = run(keymux.env(), ssh(target.getKey(), target.getValue()));
      assertEquals(0, r.exitCode(), target.getValue() + ": " + r + "\nsshd:\n" + target.getKey().log());
      assertTrue(r.stdout().contains("logged-in"));
    }
    String log = Files.readString(audit);
    String alphaKey = TestKeys.fingerprint(keys.get(6));
    assertTrue(log.lines().anyMatch(l -> l.contains("key=" + alphaKey) && l.contains("exe=/usr/bin/ssh")
        && l.contains("decision=allow") && l.contains("result=signed") && l.contains("destination=(hashed)")), log);
  }

  @Test
  void theSameKeysInOpenSshsAgentRunOutOfTries() throws Exception {
    // The control: without destination-aware offering, 8 keys against MaxAuthTries 2 fail.
    try (OpenSshAgent plain = OpenSshAgent.start()) {
      Map<String, String> env = new HashMap<>(keymux.env());
      env.put("SSH_AUTH_SOCK", plain.socket().toString());
      for (Path k : keys) {
        Proc.run(T, env, "/usr/bin/ssh-add", "-q", k.toString()).assertOk();
      }
      Proc.Result r = run(env, ssh(alpha, "alpha.test"));
      assertNotEquals(0, r.exitCode(), r.toString());
      assertTrue(r.stderr().contains("Too many authentication failures"), r.stderr());
    }
  }

  @Test
  void deniedAndHiddenKeysAreNotListed() {
    String listed = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").assertOk().stdout();
    assertFalse(listed.contains("key-1 "), listed);
    assertFalse(listed.contains("key-2 "), listed);
    for (int i = 3; i <= 8; i++) {
      assertTrue(listed.contains("key-" + i + " "), listed);
    }
  }

  @Test
  void aDeniedKeyNeverSignsAHiddenOneSignsWhenNamed() throws Exception {
    try (AgentClient c = new AgentClient(keymux.socket, Duration.ofSeconds(10))) {
      AgentException e = assertThrows(AgentException.class, () -> c.sign(Session.local(), blob(keys.get(0)), new byte[] {1}, 0));
      assertNotNull(e.getMessage());
      assertTrue(c.sign(Session.local(), blob(keys.get(1)), new byte[] {1}, 0).length > 64, "hide only hides");
    }
    assertTrue(Files.readString(audit).lines().anyMatch(l -> l.contains("key=" + TestKeys.fingerprint(keys.get(0)))
        && l.contains("decision=deny") && l.contains("rule=\"'denied'")), Files.readString(audit));
  }

  static KeyBlob blob(Path key) {
    return new KeyBlob(Base64.getDecoder().decode(TestKeys.publicLine(key).split(" ")[1]));
  }

  @Test
  void confirmAsksTheAskpassAndHonoursYesAndNo() throws Exception {
    Path msg = Files.writeString(dir.resolve("confirm-msg"), "sign me");
    Path pub = pubs.resolve("key3.pub");
    Files.writeString(answer, "yes");
    Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-n", "file", "-f", pub.toString(), msg.toString()).assertOk();
    Path signers = Files.writeString(dir.resolve("signers"), "tester " + TestKeys.publicLine(pub) + "\n");
    Proc.run(T, Map.of(), Files.readAllBytes(msg), "/usr/bin/ssh-keygen", "-Y", "verify", "-f", signers.toString(),
        "-I", "tester", "-n", "file", "-s", msg + ".sig").assertOk();
    Files.delete(Path.of(msg + ".sig"));
    Files.writeString(answer, "no");
    try {
      Proc.Result r = Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-n", "file", "-f", pub.toString(), msg.toString());
      assertNotEquals(0, r.exitCode(), "a no refuses the signature: " + r);
      assertFalse(Files.exists(Path.of(msg + ".sig")));
    } finally {
      Files.writeString(answer, "yes");
    }
  }

  @Test
  void aBrokenFileOnReloadKeepsThePolicyAndAValidOneTakesEffect() throws Exception {
    Path d = Files.createDirectories(dir.resolve("reload"));
    Path conf = d.resolve("keymux.conf");
    Files.writeString(conf, rules(DENY_KEY_1));
    try (KeymuxProcess k = KeymuxProcess.start(d, Map.of(), "--config", conf.toString())) {
      Proc.run(T, k.env(), "/usr/bin/ssh-add", "-q", keys.get(0).toString()).assertOk();
      Proc.run(T, k.env(), "/usr/bin/ssh-add", "-q", keys.get(3).toString()).assertOk();
      assertFalse(Proc.run(T, k.env(), "/usr/bin/ssh-add", "-l").stdout().contains("key-1 "));

      Files.writeString(conf, rules(DENY_KEY_1).replace("action = hide", "action = hyde"));
      waitFor(() -> logOf(k).contains("rejected"), "the broken file is rejected:\n" + k.log());
      assertTrue(k.log().contains("action: must be allow, deny, hide or confirm, not 'hyde'"), k.log());
      String listed = Proc.run(T, k.env(), "/usr/bin/ssh-add", "-l").assertOk().stdout();
      assertFalse(listed.contains("key-1 "), "the old policy still holds: " + listed);
      assertTrue(listed.contains("key-4 "), listed);

      Files.writeString(conf, rules(""));
      waitFor(() -> Proc.run(T, k.env(), "/usr/bin/ssh-add", "-l").stdout().contains("key-1 "),
          "a valid file takes effect without a restart:\n" + k.log());

      Files.writeString(conf, rules(DENY_KEY_1).replace("policy.known-hosts", "policy.watch = false\n  policy.known-hosts"));
      waitFor(() -> !Proc.run(T, k.env(), "/usr/bin/ssh-add", "-l").stdout().contains("key-1 "), "reloaded again");
      Files.writeString(conf, rules(""));
      Thread.sleep(1500);
      assertFalse(Proc.run(T, k.env(), "/usr/bin/ssh-add", "-l").stdout().contains("key-1 "),
          "with watch = false a change waits for SIGHUP");
      Proc.run(T, Map.of(), "/bin/kill", "-HUP", Long.toString(k.pid())).assertOk();
      waitFor(() -> Proc.run(T, k.env(), "/usr/bin/ssh-add", "-l").stdout().contains("key-1 "), "SIGHUP reloads:\n" + k.log());
    }
  }

  @Test
  void editsToTheTargetOfASymlinkedConfigAreSeen() throws Exception {
    Path d = Files.createDirectories(dir.resolve("symlinked"));
    Path dotfiles = Files.createDirectories(d.resolve("dotfiles"));
    Path target = Files.writeString(dotfiles.resolve("keymux.conf"), rules(DENY_KEY_1));
    Path link = Files.createSymbolicLink(Files.createDirectories(d.resolve("config")).resolve("keymux.conf"), target);
    try (KeymuxProcess k = KeymuxProcess.start(d, Map.of(), "--config", link.toString())) {
      Proc.run(T, k.env(), "/usr/bin/ssh-add", "-q", keys.get(0).toString()).assertOk();
      assertFalse(Proc.run(T, k.env(), "/usr/bin/ssh-add", "-l").stdout().contains("key-1 "));
      Files.writeString(target, rules(""));
      waitFor(() -> Proc.run(T, k.env(), "/usr/bin/ssh-add", "-l").stdout().contains("key-1 "),
          "an edit in the link's target directory reloads:\n" + k.log());
    }
  }

  static String logOf(KeymuxProcess k) {
    try {
      return k.log();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static void waitFor(java.util.function.BooleanSupplier condition, String what) throws Exception {
    long deadline = System.currentTimeMillis() + 10_000;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        fail("timed out waiting: " + what);
      }
      Thread.sleep(200);
    }
  }
}
