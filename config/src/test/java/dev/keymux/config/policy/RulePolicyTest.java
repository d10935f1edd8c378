package dev.keymux.config.policy;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.config.ConfigLoader;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Peer;
import dev.keymux.core.agent.Session;
import dev.keymux.core.agent.SessionBinding;
import dev.keymux.core.policy.Policy;
import dev.keymux.core.policy.Policy.KeyHolding;
import dev.keymux.core.wire.SshWriter;
import dev.keymux.testing.Proc;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rule evaluation as a table: a peer, a key, a destination and a socket in; a decision out. The
 * destination is a real host key named in a real known_hosts file (hashed by ssh-keygen -H), the
 * client a real process read from /proc.
 */
class RulePolicyTest {
  @TempDir Path dir;
  KeyBlob github;
  KeyBlob beta;
  KeyBlob unknownHost;
  Path knownHosts;
  Path audit;
  final List<String> questions = new ArrayList<>();
  final AtomicInteger yes = new AtomicInteger(1); // answers left as "yes"
  final List<Process> children = new ArrayList<>();

  // The keys of the table: comment → blob.
  final KeyBlob yubiKey = key(1);
  final KeyBlob personal = key(2);
  final KeyBlob confirmMe = key(3);
  final KeyBlob rootKey = key(4);
  final KeyBlob daytime = key(5);
  final KeyBlob deployA = key(6);
  final KeyBlob betaKey = key(7);

  static KeyBlob key(int n) {
    byte[] raw = new byte[32];
    raw[0] = (byte) n;
    return new KeyBlob(new SshWriter().writeString("ssh-ed25519").writeString(raw).toByteArray());
  }

  @BeforeEach
  void hosts() throws Exception {
    github = KnownHostsTest.blob(TestKeys.generate(dir, "gh", "ed25519", "gh"));
    beta = KnownHostsTest.blob(TestKeys.generate(dir, "beta", "ecdsa", "beta"));
    unknownHost = KnownHostsTest.blob(TestKeys.generate(dir, "unknown", "ed25519", "unknown"));
    knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, "github.com " + KnownHostsTest.keyPart(dir.resolve("gh")) + "\n"
        + "beta.test " + KnownHostsTest.keyPart(dir.resolve("beta")) + "\n");
    Proc.run(Duration.ofSeconds(30), Map.of(), "/usr/bin/ssh-keygen", "-q", "-H", "-f", knownHosts.toString()).assertOk();
    audit = dir.resolve("audit.log");
  }

  @AfterEach
  void stopChildren() {
    children.forEach(Process::destroyForcibly);
  }

  private RulePolicy policy(LocalDateTime now) throws Exception {
    Path conf = dir.resolve("keymux.conf");
    Files.writeString(conf, """
        keymux {
          backends { yubi { type = memory }, deploy { type = memory } }
          policy.known-hosts = ["%s"]
          sockets.ci { backends = [deploy], keys = ["deploy-*"] }
          rules = [
            { name = gh, match { destination = "github.com", backend = yubi }, prefer = [yubi] }
            { name = gh-others, match { destination = "github.com" }, action = hide }
            { name = no-forwarding, match { forwarded = true, comment = personal }, action = deny }
            { name = sleepers, match { client-name = sleep, comment = confirm-me }, action = confirm, remember = 10m }
            { name = unexpected, match { comment = confirm-me }, action = confirm }
            { name = root-only, match { uid = 0, comment = "root-*" } }
            { name = not-root, match { comment = "root-*" }, action = deny }
            { name = beta, match { destination = "beta.test", comment = beta-key } }
            { name = night, match { hours = "22:00-06:00", comment = daytime }, action = deny }
          ]
        }
        """.formatted(knownHosts));
    KeymuxSettings s = ConfigLoader.load(Optional.of(conf), Map.of("HOME", dir.toString()), 1000);
    Clock clock = Clock.fixed(now.atZone(ZoneId.systemDefault()).toInstant(), ZoneId.systemDefault());
    AuditLog log = AuditLog.open(audit.toString(), clock);
    return new RulePolicy(s.policy(), (pid, q) -> {
      questions.add(q);
      return yes.getAndDecrement() > 0;
    }, log, clock, Path.of("/proc"), new ConcurrentHashMap<>());
  }

  private RulePolicy policy() throws Exception {
    return policy(LocalDateTime.of(2026, 11, 24, 12, 0));
  }

  private Session session(String socket, int uid, long pid) {
    return new Session(new Peer(pid, uid, uid, socket));
  }

  private static Session bound(Session s, KeyBlob host, boolean forwarding) {
    s.addBinding(new SessionBinding(host, new byte[] {(byte) s.bindings().size(), 1, 2}, forwarding, new byte[0]));
    return s;
  }

  private long sleeper() throws Exception {
    Process p = new ProcessBuilder("/usr/bin/sleep", "60").start();
    children.add(p);
    return p.pid();
  }

  private final List<KeyHolding> table = List.of(
      new KeyHolding(List.of(new Identity(yubiKey, "yubikey", "files"), new Identity(yubiKey, "yubikey", "yubi"))),
      new KeyHolding(List.of(new Identity(personal, "personal", "files"))),
      new KeyHolding(List.of(new Identity(confirmMe, "confirm-me", "files"))),
      new KeyHolding(List.of(new Identity(rootKey, "root-key", "files"))),
      new KeyHolding(List.of(new Identity(daytime, "daytime", "files"))),
      new KeyHolding(List.of(new Identity(deployA, "deploy-a", "deploy"))),
      new KeyHolding(List.of(new Identity(betaKey, "beta-key", "files"))));

  private static List<String> offered(Policy.View view, List<KeyHolding> keys) {
    return view.offer(keys).stream().map(id -> id.comment() + "@" + id.backend()).toList();
  }

  private KeyHolding holding(KeyBlob k) {
    return table.stream().filter(h -> h.key().equals(k)).findFirst().orElseThrow();
  }

  @Test
  void unboundLocalClientSeesEveryAllowedKeyInBackendOrder() throws Exception {
    Policy.View v = policy().view(session("main", 1000, -1));
    assertEquals(List.of("yubikey@files", "personal@files", "confirm-me@files", "daytime@files", "deploy-a@deploy",
        "beta-key@files"), offered(v, table), "root-key is denied to uid 1000");
    assertTrue(v.mayManage());
    assertNull(v.backends(), "the main socket reaches every backend");
  }

  @Test
  void towardsGithubOnlyTheYubikeyIsOfferedAndTheYubikeyBackendSigns() throws Exception {
    Policy.View v = policy().view(bound(session("main", 1000, -1), github, false));
    assertEquals(List.of("yubikey@yubi"), offered(v, table), "hashed known_hosts entry names github.com");
    assertEquals(List.of("yubi", "files"), v.authorize(holding(yubiKey)).backends(), "prefer puts yubi first");
    // hide: not offered, but a client naming the key may still use it
    assertEquals(List.of("files"), v.authorize(holding(personal)).backends());
  }

  @Test
  void theKeyMeantForADestinationIsOfferedFirst() throws Exception {
    Policy.View v = policy().view(bound(session("main", 1000, -1), beta, false));
    List<String> offer = offered(v, table);
    assertEquals("beta-key@files", offer.get(0), "rule 'beta' ranks before the default: " + offer);
    assertEquals(6, offer.size());
  }

  @Test
  void anUnknownHostMatchesNoDestinationRule() throws Exception {
    Policy.View v = policy().view(bound(session("main", 1000, -1), unknownHost, false));
    assertEquals("yubikey@files", offered(v, table).get(0), "no destination rule applies; backend order stays");
  }

  @Test
  void forwardedConnectionsDoNotGetThePersonalKey() throws Exception {
    Session s = bound(bound(session("main", 1000, -1), beta, true), unknownHost, false);
    Policy.View v = policy().view(s);
    assertFalse(offered(v, table).contains("personal@files"));
    AgentException e = assertThrows(AgentException.class, () -> v.authorize(holding(personal)));
    assertTrue(e.getMessage().contains("no-forwarding"), e.getMessage());
  }

  @Test
  void confirmAsksWithClientAndKeyAndRemembersAYesPerProgram() throws Exception {
    RulePolicy p = policy();
    long pid = sleeper();
    Policy.View v = p.view(session("main", 1000, pid));
    assertNotNull(v.authorize(holding(confirmMe)));
    assertEquals(1, questions.size());
    assertTrue(questions.get(0).contains("confirm-me") && questions.get(0).contains("/usr/bin/sleep (pid " + pid + ")"),
        questions.get(0));
    yes.set(0); // from now on the user would say no
    assertNotNull(p.view(session("main", 1000, sleeper())).authorize(holding(confirmMe)), "remembered for 10m");
    assertEquals(1, questions.size(), "not asked again for the same program and key");
    // Another program matches the rule without `remember`: asked, says no, refused.
    AgentException e = assertThrows(AgentException.class,
        () -> p.view(session("main", 1000, ProcessHandle.current().pid())).authorize(holding(confirmMe)));
    assertTrue(e.getMessage().contains("not confirmed"), e.getMessage());
    assertEquals(2, questions.size());
  }

  @Test
  void uidDecidesForRootKeys() throws Exception {
    RulePolicy p = policy();
    assertNotNull(p.view(session("main", 0, -1)).authorize(holding(rootKey)));
    assertThrows(AgentException.class, () -> p.view(session("main", 1000, -1)).authorize(holding(rootKey)));
  }

  @Test
  void timeWindowsWrapMidnight() throws Exception {
    assertThrows(AgentException.class,
        () -> policy(LocalDateTime.of(2026, 11, 24, 23, 30)).view(session("main", 1000, -1)).authorize(holding(daytime)));
    assertThrows(AgentException.class,
        () -> policy(LocalDateTime.of(2026, 11, 24, 5, 59)).view(session("main", 1000, -1)).authorize(holding(daytime)));
    assertNotNull(policy(LocalDateTime.of(2026, 11, 24, 6, 0)).view(session("main", 1000, -1)).authorize(holding(daytime)));
  }

  @Test
  void aScopedSocketSeesOnlyItsBackendsAndKeysAndManagesNothing() throws Exception {
    RulePolicy p = policy();
    Policy.View v = p.view(session("ci", 1000, -1));
    assertEquals(java.util.Set.of("deploy"), v.backends());
    assertFalse(v.mayManage());
    KeyHolding notADeployKey = new KeyHolding(List.of(new Identity(key(9), "build-cache", "deploy")));
    assertEquals(List.of("deploy-a@deploy"), offered(v, List.of(holding(deployA), notADeployKey)));
    assertThrows(AgentException.class, () -> v.authorize(notADeployKey), "keys outside `keys` cannot sign either");
    Policy.View gone = p.view(session("removed-on-reload", 1000, -1));
    assertEquals(java.util.Set.of(), gone.backends(), "a socket no longer configured sees nothing");
    assertEquals(List.of(), offered(gone, table));
  }

  @Test
  void everySignatureLeavesOneAuditLineAndNoData() throws Exception {
    RulePolicy p = policy();
    long pid = sleeper();
    Policy.View v = p.view(bound(session("main", 1000, pid), github, false));
    v.authorize(holding(yubiKey)).completed("yubi", null);
    assertThrows(AgentException.class, () -> p.view(bound(session("main", 1000, pid), beta, true))
        .authorize(holding(personal)));
    List<String> lines = Files.readAllLines(audit);
    assertEquals(2, lines.size(), String.join("\n", lines));
    String ok = lines.get(0);
    for (String field : List.of(" sign socket=main", "uid=1000", "pid=" + pid, "exe=/usr/bin/sleep",
        "key=" + KeyFacts.of(yubiKey, List.of(), List.of()).sha256(), "backend=yubi", "destination=(hashed)",
        "decision=allow", "result=signed")) {
      assertTrue(ok.contains(field), field + " in " + ok);
    }
    assertTrue(lines.get(1).contains("decision=deny") && lines.get(1).contains("forwarded"), lines.get(1));
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(audit)));
  }

  @Test
  void explainNamesEveryRuleThatDidNotMatchAndWhy() throws Exception {
    RulePolicy p = policy();
    KeyFacts k = KeyFacts.of(betaKey, List.of("beta-key"), List.of("files"));
    RulePolicy.Verdict v = p.decide(p.facts("main", 1000, ClientInfo.UNKNOWN, beta, false, k), true);
    assertEquals("beta", v.rule().label().split("'")[1]);
    assertEquals(7, v.trace().size(), String.join("\n", v.trace()));
    assertTrue(v.trace().get(0).contains("'gh' (rule #1") && v.trace().get(0).contains("held by [files], not [yubi]"),
        v.trace().get(0));
    assertTrue(v.trace().get(1).contains("not matched: destination [(hashed)] is not [github.com]"), v.trace().get(1));
    assertTrue(v.rule().label().contains("keymux.conf:"), "rules carry file:line: " + v.rule().label());
  }
}
