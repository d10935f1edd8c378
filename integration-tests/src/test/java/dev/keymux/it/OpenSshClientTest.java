package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Askpass;
import dev.keymux.testing.Proc;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The real OpenSSH tools (ssh-add, ssh-keygen) against a running keymux jar. */
class OpenSshClientTest {
  static final Duration T = Duration.ofSeconds(30);
  @TempDir static Path keys;
  @TempDir Path dir;
  KeymuxProcess keymux;

  @BeforeAll
  static void generate() {
    for (String type : TestKeys.allTypes()) {
      TestKeys.generate(keys, "id_" + type.replace('-', '_'), type, "it " + type);
    }
  }

  static Path key(String type) {
    return keys.resolve("id_" + type.replace('-', '_'));
  }

  @BeforeEach
  void start() throws Exception {
    keymux = KeymuxProcess.start(dir, Map.of("SSH_ASKPASS", dir.resolve("no-such-askpass").toString()), askpassOnly());
  }

  /**
   * keymux asking only through askpass, whatever terminal the tests run in: these tests are about
   * OpenSSH's askpass rules (TerminalPromptTest covers the terminal).
   */
  private String[] askpassOnly() throws Exception {
    Path config = dir.resolve("askpass-only.conf");
    Files.writeString(config, "keymux.prompt = askpass\n");
    return new String[] {"--config", config.toString()};
  }

  @AfterEach
  void stop() throws Exception {
    keymux.close();
  }

  Proc.Result sshAdd(Map<String, String> extraEnv, String... args) {
    Map<String, String> env = new HashMap<>(keymux.env());
    env.putAll(extraEnv);
    String[] cmd = new String[args.length + 1];
    cmd[0] = "/usr/bin/ssh-add";
    System.arraycopy(args, 0, cmd, 1, args.length);
    return Proc.run(T, env, cmd);
  }

  Proc.Result sshAdd(String... args) {
    return sshAdd(Map.of(), args);
  }

  @Test
  void anEmptyAgentMakesSshAddListExitWithOne() {
    Proc.Result l = sshAdd("-l");
    assertEquals(1, l.exitCode(), l.toString());
    assertTrue(l.stdout().contains("The agent has no identities."), l.stdout());
    assertEquals(1, sshAdd("-L").exitCode());
  }

  @ParameterizedTest
  @ValueSource(strings = {"ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048", "rsa-3072"})
  void sshAddOfEveryKeyTypeListsTheSameFingerprintAndPublicKey(String type) throws Exception {
    sshAdd(key(type).toString()).assertOk();
    String listed = sshAdd("-l").assertOk().stdout();
    assertTrue(listed.contains(TestKeys.fingerprint(key(type))), listed);
    String pub = sshAdd("-L").assertOk().stdout().trim();
    assertEquals(TestKeys.publicLine(key(type)).split(" ")[1], pub.split(" ")[1]);
  }

  @Test
  void deleteOneAndDeleteAll() {
    sshAdd(key("ed25519").toString()).assertOk();
    sshAdd(key("rsa-2048").toString()).assertOk();
    sshAdd("-d", key("ed25519") + ".pub").assertOk();
    String listed = sshAdd("-l").assertOk().stdout();
    assertFalse(listed.contains(TestKeys.fingerprint(key("ed25519"))));
    assertTrue(listed.contains(TestKeys.fingerprint(key("rsa-2048"))));
    sshAdd("-D").assertOk();
    assertEquals(1, sshAdd("-l").exitCode());
  }

  @Test
  void aKeyAddedWithALifetimeExpires() throws Exception {
    sshAdd("-t", "2", key("ecdsa-256").toString()).assertOk();
    assertEquals(0, sshAdd("-l").exitCode());
    Thread.sleep(3000);
    assertEquals(1, sshAdd("-l").exitCode(), "expired after 2 s");
  }

  @Test
  void lockAndUnlockWithSshAddXAndCapitalX() throws Exception {
    sshAdd(key("ed25519").toString()).assertOk();
    Map<String, String> askpass = askpassEnv(Askpass.answering(dir, "lock-pass"));
    sshAdd(askpass, "-x").assertOk();
    assertEquals(1, sshAdd("-l").exitCode(), "a locked agent lists nothing");
    Proc.Result wrong = sshAdd(askpassEnv(Askpass.answering(dir.resolve("w"), "wrong")), "-X");
    assertNotEquals(0, wrong.exitCode());
    sshAdd(askpass, "-X").assertOk();
    assertEquals(0, sshAdd("-l").exitCode(), "unlocked: the key is back");
  }

  private Map<String, String> askpassEnv(Path askpass) {
    return Map.of("SSH_ASKPASS", askpass.toString(), "SSH_ASKPASS_REQUIRE", "force", "DISPLAY", ":0");
  }

  /** ssh-keygen -Y sign through the agent (public key file given), verified by ssh-keygen -Y verify. */
  private Proc.Result signWithAgent(Path pub, Path data) {
    return Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file", data.toString());
  }

  private void verify(Path pub, Path data) throws Exception {
    Path allowed = dir.resolve("allowed_signers");
    Files.writeString(allowed, "tester " + TestKeys.publicLine(pub) + "\n");
    Proc.Result v = Proc.run(T, keymux.env(), "/bin/sh", "-c", "/usr/bin/ssh-keygen -Y verify -f '" + allowed
        + "' -I tester -n file -s '" + data + ".sig' < '" + data + "'");
    v.assertOk();
  }

  @ParameterizedTest
  @ValueSource(strings = {"ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048"})
  void sshKeygenSignsThroughKeymuxAndTheSignatureVerifies(String type) throws Exception {
    sshAdd(key(type).toString()).assertOk();
    Path data = dir.resolve("data-" + type);
    Files.writeString(data, "signed through keymux\n");
    signWithAgent(Path.of(key(type) + ".pub"), data).assertOk();
    verify(Path.of(key(type) + ".pub"), data);
  }

  @Test
  void aConfirmKeyAsksTheAskpassAndHonoursYes() throws Exception {
    keymux.close();
    Path log = dir.resolve("askpass.log");
    Path yes = Askpass.recording(dir, "", log);
    keymux = KeymuxProcess.start(dir, Askpass.env(yes), askpassOnly());
    sshAdd("-c", key("ed25519").toString()).assertOk();
    Path data = dir.resolve("data");
    Files.writeString(data, "confirm me\n");
    signWithAgent(Path.of(key("ed25519") + ".pub"), data).assertOk();
    verify(Path.of(key("ed25519") + ".pub"), data);
    String asked = Files.readString(log);
    assertTrue(asked.contains("Allow use of key it ed25519?"), asked);
    assertTrue(asked.contains(TestKeys.fingerprint(key("ed25519"))), asked);
    assertTrue(asked.matches("(?s).*Requested by /usr/bin/ssh-keygen \\(pid \\d+\\) \\(destination unknown\\)\\..*"),
        "ssh-add -c keys are asked about like policy confirm rules: " + asked);
    assertTrue(asked.contains("confirm"), "SSH_ASKPASS_PROMPT=confirm is passed: " + asked);
  }

  @Test
  void aConfirmKeyIsRefusedWhenTheAskpassSaysNo() throws Exception {
    keymux.close();
    keymux = KeymuxProcess.start(dir, Askpass.env(Askpass.refusing(dir)), askpassOnly());
    sshAdd("-c", key("ed25519").toString()).assertOk();
    Path data = dir.resolve("data");
    Files.writeString(data, "refuse me\n");
    assertNotEquals(0, signWithAgent(Path.of(key("ed25519") + ".pub"), data).exitCode());
  }

  @Test
  void aConfirmKeyIsRefusedWhenTheAskpassAnswersNoAndExitsZero() throws Exception {
    // OpenSSH's ask_permission: exit 0 alone is not a yes; the answer must be empty or "yes".
    keymux.close();
    Path log = dir.resolve("askpass.log");
    keymux = KeymuxProcess.start(dir, Askpass.env(Askpass.recording(dir, "no", log)), askpassOnly());
    sshAdd("-c", key("ed25519").toString()).assertOk();
    Path data = dir.resolve("data");
    Files.writeString(data, "say no\n");
    assertNotEquals(0, signWithAgent(Path.of(key("ed25519") + ".pub"), data).exitCode());
    assertTrue(Files.readString(log).contains("Allow use of key it ed25519?"), "the askpass was asked");
    assertFalse(Files.exists(Path.of(data + ".sig")), "no signature was made");
  }

  @Test
  void aConfirmKeyIsRefusedWithoutADisplayUnlessSshAskpassRequireSaysForce() throws Exception {
    // Like ssh-agent: no DISPLAY/WAYLAND_DISPLAY and no SSH_ASKPASS_REQUIRE=force, no askpass.
    keymux.close();
    Path log = dir.resolve("askpass.log");
    keymux = KeymuxProcess.start(dir, Map.of("SSH_ASKPASS", Askpass.recording(dir, "yes", log).toString()), askpassOnly());
    sshAdd("-c", key("ed25519").toString()).assertOk();
    Path data = dir.resolve("data");
    Files.writeString(data, "no display\n");
    assertNotEquals(0, signWithAgent(Path.of(key("ed25519") + ".pub"), data).exitCode());
    assertFalse(Files.exists(log), "the askpass must not run without a display");
    assertTrue(keymux.log().contains("neither DISPLAY nor WAYLAND_DISPLAY is set"), keymux.log());
  }

  @Test
  void aConfirmKeyIsRefusedWhenNoAskpassCanRun() throws Exception {
    sshAdd("-c", key("ed25519").toString()).assertOk();
    Path data = dir.resolve("data");
    Files.writeString(data, "nobody to ask\n");
    assertNotEquals(0, signWithAgent(Path.of(key("ed25519") + ".pub"), data).exitCode());
    assertTrue(keymux.log().contains("no askpass program can run"), keymux.log());
  }

  @Test
  void aDestinationRestrictedKeyIsUsableLocallyAndShowsItsRestriction() throws Exception {
    Path hostKeyPub = TestKeys.generate(dir, "hostkey", "ed25519", "host");
    Path knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, "example.test " + TestKeys.publicLine(Path.of(hostKeyPub + ".pub")) + "\n");
    sshAdd("-H", knownHosts.toString(), "-h", "example.test", "-h", "example.test>bob@example.test", "-t", "600",
        key("ed25519").toString()).assertOk();
    // Local use (no session-bind), as with OpenSSH's agent: listed, but only ssh logins are signed.
    assertTrue(sshAdd("-l").assertOk().stdout().contains(TestKeys.fingerprint(key("ed25519"))));
    Path data = dir.resolve("data");
    Files.writeString(data, "not a login\n");
    assertNotEquals(0, signWithAgent(Path.of(key("ed25519") + ".pub"), data).exitCode());
    assertTrue(keymux.log().contains("not bound to a host"), keymux.log());
    Proc.Result list = Proc.run(T, keymux.env(), KeymuxProcess.command("list").toArray(String[]::new)).assertOk();
    assertTrue(list.stdout().contains("restricted to example.test, example.test>bob@example.test"), list.stdout());
  }

  @Test
  void keymuxSurvivesGarbageAndKeepsServing() throws Exception {
    sshAdd(key("ed25519").toString()).assertOk();
    // A client that sends a 1 GiB length and another that sends a bogus message type.
    try (var s = org.newsclub.net.unix.AFUNIXSocket.connectTo(org.newsclub.net.unix.AFUNIXSocketAddress.of(keymux.socket.toFile()))) {
      s.getOutputStream().write(new byte[] {0x40, 0, 0, 0});
      assertEquals(-1, s.getInputStream().read(), "oversized frame closes the connection");
    }
    try (var s = org.newsclub.net.unix.AFUNIXSocket.connectTo(org.newsclub.net.unix.AFUNIXSocketAddress.of(keymux.socket.toFile()))) {
      s.getOutputStream().write(new byte[] {0, 0, 0, 1, (byte) 250});
      byte[] reply = s.getInputStream().readNBytes(5);
      assertArrayEquals(new byte[] {0, 0, 0, 1, 5}, reply, "unknown type gets SSH_AGENT_FAILURE");
    }
    assertTrue(sshAdd("-l").assertOk().stdout().contains(TestKeys.fingerprint(key("ed25519"))));
  }

  @Test
  void keymuxListShowsTheBackend() {
    sshAdd(key("ed25519").toString()).assertOk();
    List<String> cmd = KeymuxProcess.command("list");
    Proc.Result r = Proc.run(T, keymux.env(), cmd.toArray(String[]::new)).assertOk();
    assertTrue(r.stdout().contains(TestKeys.fingerprint(key("ed25519"))), r.stdout());
    assertTrue(r.stdout().contains("added"), r.stdout());
  }
}
