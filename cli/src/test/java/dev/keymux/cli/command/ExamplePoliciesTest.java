package dev.keymux.cli.command;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigValueFactory;
import dev.keymux.cli.daemon.Daemon;
import dev.keymux.config.ConfigLoader;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.config.policy.ClientInfo;
import dev.keymux.config.policy.KeyFacts;
import dev.keymux.config.policy.PolicyRule.Action;
import dev.keymux.config.policy.RulePolicy;
import dev.keymux.config.policy.SocketSettings;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.server.Posix;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * The example policies in docs/examples are valid, start as {@code keymux serve} would build them,
 * and decide what their comments promise. They name files that do not exist here (a PKCS#11
 * library, deploy keys, an audit log directory): checking must not open them.
 */
class ExamplePoliciesTest {
  /** Host keys (public halves only) for the destinations the examples name. */
  private static final String GITHUB_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIMubzcc29yU3n6lUJTvII2qivmYAjpjAMSs4l24yHwSv";
  private static final String CORP_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIIOSWhP32FlOrQIi47nuZ+x0KYQa+yY9qpW2fJV1/hgW";
  private static final String LEGACY_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIKanBElgBXHOFRX/qRlV+e9R9o0K/w1ULxkONqHAJTEt";

  private static final ClientInfo SSH = client("/usr/bin/ssh");
  private static final ClientInfo VSCODE = client("/usr/share/code/code");

  @TempDir static Path home;

  private static Map<String, String> env;

  @BeforeAll
  static void fakeHome() throws IOException {
    Path ssh = Files.createDirectories(home.resolve(".ssh"));
    // As Debian and Ubuntu write known_hosts (HashKnownHosts yes): github.com and
    // legacy.corp.example hashed by ssh-keygen -H; build.corp.example in a plain file.
    Files.writeString(ssh.resolve("known_hosts"),
        "|1|ZBdIbiKSpiHQ1rBAnsbqHJxn3AY=|OvZVzha9b7xUUtcc0/8YNPBkD5M= ssh-ed25519 " + GITHUB_KEY + "\n"
            + "|1|mFu+5KJEkdckkJp4JZH9vqbJ1Ek=|eDvcDBlblyanwRg6ijScwTyPIek= ssh-ed25519 " + LEGACY_KEY + "\n");
    Files.writeString(ssh.resolve("known_hosts.corp"), "build.corp.example,10.1.2.3 ssh-ed25519 " + CORP_KEY + "\n");
    env = Map.of("HOME", home.toString(), "XDG_RUNTIME_DIR", home.resolve("run").toString(),
        "XDG_CONFIG_HOME", home.resolve(".config").toString());
  }

  static Stream<Path> examples() throws IOException {
    try (Stream<Path> files = Files.list(examplesDir())) {
      List<Path> confs = files.filter(p -> p.toString().endsWith(".conf")).sorted().toList();
      assertTrue(confs.stream().map(p -> p.getFileName().toString()).toList()
          .containsAll(List.of("laptop.conf", "ci-runner.conf", "container-host.conf")), confs.toString());
      return confs.stream();
    }
  }

  private static Path examplesDir() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("docs/examples"))) {
        return dir.resolve("docs/examples");
      }
    }
    throw new IllegalStateException("docs/examples not found above " + Path.of("").toAbsolutePath());
  }

  @ParameterizedTest
  @MethodSource("examples")
  void policyCheckAcceptsTheExample(Path example) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute("policy", "check", example.toString());
    assertEquals(0, exit, err.toString());
    assertTrue(out.toString().startsWith(example + ": OK"), out.toString());
  }

  /**
   * Beyond {@code policy check}: the whole daemon can be built from the example, and building it
   * opens no socket, token or file: its paths need not exist.
   */
  @ParameterizedTest
  @MethodSource("examples")
  void serveCanBuildTheExampleWithoutOpeningItsPaths(Path example) {
    KeymuxSettings s = load(example);
    // Only the audit log would be opened while building; send it into the temporary directory.
    KeymuxSettings quiet = KeymuxSettings.from(s.raw().withValue("keymux.policy.audit-log",
        ConfigValueFactory.fromAnyRef(home.resolve("audit-" + example.getFileName() + ".log").toString())), env,
        Posix.currentUid());
    try (Daemon daemon = new Daemon(quiet, quiet.socketPath(), env, null, Optional.empty())) {
      assertEquals(s.policy().rules().size(), daemon.policy().settings().rules().size());
    }
    assertFalse(Files.exists(s.socketPath()), "building must not bind the socket");
  }

  @Test
  void laptopPicksKeysByDestinationClientAndForwarding() {
    KeymuxSettings s = load(examplesDir().resolve("laptop.conf"));
    assertEquals(List.of("yubikey", "files", "gnome", "added", "tokens"),
        s.backends().stream().map(KeymuxSettings.BackendSettings::name).toList());
    assertEquals("/usr/lib/x86_64-linux-gnu/libykcs11.so",
        s.backends().stream().filter(b -> b.name().equals("yubikey")).findFirst().orElseThrow().settings().getString("module"));
    RulePolicy p = policy(s);
    KeyFacts yubikey = KeyFacts.described("SHA256:yk", List.of("PIV AUTH pubkey"), "ecdsa-sha2-nistp256", List.of("yubikey", "tokens"));
    KeyFacts personal = KeyFacts.described("SHA256:pe", List.of("alice@personal"), "ssh-ed25519", List.of("files"));
    KeyFacts work = KeyFacts.described("SHA256:wo", List.of("alice@corp.example"), "ssh-ed25519", List.of("files"));

    RulePolicy.Verdict github = decide(p, "main", SSH, GITHUB_KEY, false, yubikey);
    assertEquals(Action.ALLOW, github.action());
    assertEquals(List.of("yubikey"), github.rule().prefer());
    assertTrue(github.describe().startsWith("'github: the yubikey'"), github.describe());
    assertEquals(Action.HIDE, decide(p, "main", SSH, GITHUB_KEY, false, personal).action());
    assertEquals(Action.HIDE, decide(p, "main", SSH, GITHUB_KEY, false, work).action());

    assertRule("'corp: work key first'", decide(p, "main", SSH, CORP_KEY, false, work));
    // A hashed known_hosts entry only answers to a name written out in full, never to *.corp.example.
    assertRule("'ssh and git sign freely'", decide(p, "main", SSH, LEGACY_KEY, false, work));

    assertEquals(Action.DENY, decide(p, "main", SSH, CORP_KEY, true, personal).action());
    assertEquals(Action.ALLOW, decide(p, "main", SSH, CORP_KEY, true, work).action());

    RulePolicy.Verdict ide = decide(p, "main", VSCODE, null, false, work);
    assertEquals(Action.CONFIRM, ide.action());
    assertEquals(Duration.ofMinutes(10), ide.rule().remember());
  }

  @Test
  void ciRunnerOffersDeployKeysOnlyAndAudits() {
    KeymuxSettings s = load(examplesDir().resolve("ci-runner.conf"));
    assertEquals(List.of("deploy"), s.backends().stream().map(KeymuxSettings.BackendSettings::name).toList());
    assertEquals("", s.addTarget());
    assertEquals(Action.DENY, s.policy().defaultAction());
    assertEquals("/var/log/keymux/audit.log", s.policy().auditLog());
    RulePolicy p = policy(s);
    KeyFacts deploy = KeyFacts.described("SHA256:de", List.of("deploy-app@ci"), "ssh-ed25519", List.of("deploy"));
    KeyFacts stray = KeyFacts.described("SHA256:st", List.of("someone@laptop"), "ssh-ed25519", List.of("deploy"));
    assertEquals(Action.ALLOW, decide(p, "main", SSH, null, false, deploy).action());
    assertEquals(Action.DENY, decide(p, "main", SSH, null, false, stray).action());
  }

  @Test
  void containerSocketIsNarrowGroupReadableConfirmedAndExpires() {
    KeymuxSettings s = load(examplesDir().resolve("container-host.conf"));
    SocketSettings c = s.policy().sockets().stream().filter(x -> x.name().equals("container")).findFirst().orElseThrow();
    assertEquals(home.resolve("run/keymux/container/agent.sock"), c.path());
    assertEquals(0660, c.mode());
    assertEquals("1000", c.group());
    assertEquals(Set.of(0, 1000), c.allowUids());
    assertEquals(List.of("deploy"), c.backends());
    assertEquals(Duration.ofHours(8), c.expires());
    assertTrue(c.confirm());

    KeyFacts deploy = KeyFacts.described("SHA256:de", List.of("deploy-app"), "ssh-ed25519", List.of("deploy"));
    KeyFacts other = KeyFacts.described("SHA256:ot", List.of("alice@laptop"), "ssh-ed25519", List.of("deploy"));
    assertTrue(c.admits(deploy));
    assertFalse(c.admits(other));
    RulePolicy p = policy(s);
    assertEquals(Action.CONFIRM, decide(p, "container", SSH, null, false, deploy).action());
    assertEquals(Action.HIDE, decide(p, "main", SSH, null, false, deploy).action());
  }

  private static KeymuxSettings load(Path example) {
    return ConfigLoader.load(Optional.of(example), env, Posix.currentUid());
  }

  private static RulePolicy policy(KeymuxSettings s) {
    return new RulePolicy(s.policy(), (pid, question) -> false, dev.keymux.config.policy.AuditLog.OFF,
        java.time.Clock.systemDefaultZone(), Path.of("/proc"), new java.util.concurrent.ConcurrentHashMap<>());
  }

  private static RulePolicy.Verdict decide(RulePolicy p, String socket, ClientInfo client, String hostKey,
      boolean forwarded, KeyFacts key) {
    KeyBlob host = hostKey == null ? null : new KeyBlob(Base64.getDecoder().decode(hostKey));
    return p.decide(p.facts(socket, 1000, client, host, forwarded, key), true);
  }

  private static void assertRule(String name, RulePolicy.Verdict v) {
    assertNotNull(v.rule(), "decided by the default action: " + v.trace());
    assertTrue(v.rule().label().startsWith(name), v.rule().label() + " after " + v.trace());
  }

  private static ClientInfo client(String exe) {
    return new ClientInfo(-1, exe, Path.of(exe).getFileName().toString(), exe, List.of());
  }
}
