package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Askpass;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.SoftHsm;
import dev.keymux.testing.Sshd;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keys on a real SoftHSM2 token through keymux, compared with OpenSSH's own ssh-add -s. */
class Pkcs11Test {
  static final Duration T = Duration.ofSeconds(60);
  static final String PIN = "123456";
  static final List<String> TYPES = List.of("rsa:2048", "EC:prime256v1", "EC:secp384r1", "EC:edwards25519");
  @TempDir Path dir;
  SoftHsm hsm;

  @BeforeEach
  void token() throws Exception {
    RealComponents.require("softhsm", SoftHsm.available(), "apt-get install softhsm2 opensc");
    hsm = SoftHsm.create(dir.resolve("hsm"));
    makeToken();
  }

  private void makeToken() {
    hsm.initToken("keymux-test", PIN);
    for (int i = 0; i < TYPES.size(); i++) {
      hsm.generate("keymux-test", PIN, TYPES.get(i), "0" + (i + 1), "key" + (i + 1));
    }
  }

  private KeymuxProcess start(String pin, Map<String, String> extraEnv) throws Exception {
    Path conf = dir.resolve("keymux.conf");
    Files.writeString(conf, "keymux.backends.files = null\nkeymux.backends.hsm { type = pkcs11, module = \""
        + SoftHsm.MODULE + "\", token = keymux-test, pin = \"" + pin + "\" }\n");
    Map<String, String> env = new HashMap<>(hsm.env());
    env.putAll(extraEnv);
    return KeymuxProcess.start(Files.createDirectories(dir.resolve("home")), env, "--config", conf.toString());
  }

  private static Map<String, String> with(Map<String, String> a, Map<String, String> b) {
    Map<String, String> m = new HashMap<>(a);
    m.putAll(b);
    return m;
  }

  private List<String> publicLines(KeymuxProcess k) {
    return Proc.run(T, k.env(), "/usr/bin/ssh-add", "-L").assertOk().stdout().lines().toList();
  }

  @Test
  void fingerprintsMatchOpenSshAndEveryTypeSignsAndLogsIn() throws Exception {
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed");
    try (KeymuxProcess keymux = start("env:HSM_PIN", Map.of("HSM_PIN", PIN))) {
      String ours = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").assertOk().stdout();
      // OpenSSH's own agent with ssh-add -s on the same token (it skips Ed25519 keys).
      Path askpass = Askpass.answering(dir.resolve("bin"), PIN);
      try (var real = dev.keymux.testing.OpenSshAgent.start(hsm.env())) {
        Map<String, String> env = with(with(real.env(), hsm.env()),
            Map.of("SSH_ASKPASS", askpass.toString(), "SSH_ASKPASS_REQUIRE", "force", "DISPLAY", ":0"));
        Proc.run(T, env, "/usr/bin/ssh-add", "-s", SoftHsm.MODULE).assertOk();
        String theirs = Proc.run(T, env, "/usr/bin/ssh-add", "-l").assertOk().stdout();
        List<String> theirFingerprints = theirs.lines().map(l -> l.split(" ")[1]).toList();
        // OpenSSH 9.2 skips the Ed25519 key; later versions list it. Every key they list, we list.
        assertTrue(theirs.contains("(RSA)") && theirs.split("\\(ECDSA\\)", -1).length - 1 == 2, theirs);
        for (String fp : theirFingerprints) {
          assertTrue(ours.contains(fp), "keymux lists " + fp + ":\n" + ours);
        }
      }
      assertTrue(ours.contains("(ED25519)"), "Ed25519 token keys are listed too:\n" + ours);

      List<String> lines = publicLines(keymux);
      assertEquals(4, lines.size());
      Path authorized = dir.resolve("authorized_keys");
      Files.write(authorized, lines);
      try (Sshd sshd = Sshd.start(Files.createDirectories(dir.resolve("sshd")), authorized)) {
        int n = 0;
        for (String line : lines) {
          Path pub = dir.resolve("k" + (++n) + ".pub");
          Files.writeString(pub, line + "\n");
          Path data = dir.resolve("data" + n);
          Files.writeString(data, "token data\n");
          Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file", data.toString()).assertOk();
          Path allowed = dir.resolve("allowed" + n);
          Files.writeString(allowed, "t " + line + "\n");
          Proc.run(T, Map.of(), "/bin/sh", "-c", "/usr/bin/ssh-keygen -Y verify -f " + allowed + " -I t -n file -s " + data
              + ".sig < " + data).assertOk();
          List<String> cmd = sshd.sshCommand("echo in", "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=" + pub);
          assertEquals("in", Proc.run(T, keymux.env(), cmd.toArray(String[]::new)).assertOk().stdout().trim(), line);
        }
      }
    }
  }

  @Test
  void aWrongPinFailsOnceWithoutRetryAndOtherKeysKeepWorking() throws Exception {
    Path log = dir.resolve("asked.log");
    Path askpass = Askpass.recording(dir.resolve("bin"), "000000", log);
    try (KeymuxProcess keymux = start("askpass", Askpass.env(askpass))) {
      Path own = TestKeys.generate(dir, "own", "ed25519", "own");
      Proc.run(T, keymux.env(), "/usr/bin/ssh-add", own.toString()).assertOk();
      Path pub = dir.resolve("t.pub");
      Files.writeString(pub, publicLines(keymux).stream().filter(l -> l.startsWith("ssh-ed25519") && !l.contains("own"))
          .findFirst().orElseThrow() + "\n");
      Path data = dir.resolve("d");
      Files.writeString(data, "x\n");
      assertNotEquals(0, Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file",
          data.toString()).exitCode());
      List<String> prompts = Files.readAllLines(log).stream().filter(l -> l.startsWith("prompt=")).toList();
      assertEquals(List.of("prompt=Enter PIN for 'keymux-test': "), prompts, "asked once, never retried");
      assertTrue(keymux.log().contains("wrong PIN for token 'keymux-test'"), keymux.log());
      Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", own + ".pub", "-n", "file", data.toString()).assertOk();
    }
  }

  @Test
  void aCancelledPinPromptFailsThatRequestOnly() throws Exception {
    try (KeymuxProcess keymux = start("askpass", Askpass.env(Askpass.refusing(dir.resolve("bin"))))) {
      Path pub = dir.resolve("t.pub");
      Files.writeString(pub, publicLines(keymux).get(0) + "\n");
      Path data = dir.resolve("d");
      Files.writeString(data, "x\n");
      assertNotEquals(0, Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file",
          data.toString()).exitCode());
      assertTrue(keymux.log().contains("was not given"), keymux.log());
      assertEquals(4, publicLines(keymux).size(), "keys are still offered");
    }
  }

  @Test
  void aTokenThatDisappearsIsWithdrawnAndComesBackWithoutRestart() throws Exception {
    try (KeymuxProcess keymux = start("env:HSM_PIN", Map.of("HSM_PIN", PIN))) {
      List<String> before = publicLines(keymux);
      assertEquals(4, before.size());
      hsm.deleteToken("keymux-test");
      // Noticed by listing alone, without a signature failing first.
      long t0 = System.currentTimeMillis();
      while (Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").exitCode() != 1) {
        assertTrue(System.currentTimeMillis() - t0 < 3000, "keys withdrawn within ~2 s: " + keymux.log());
        Thread.sleep(200);
      }
      Path pub = dir.resolve("t.pub");
      Files.writeString(pub, before.get(0) + "\n");
      Path data = dir.resolve("d");
      Files.writeString(data, "x\n");
      assertNotEquals(0, Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file",
          data.toString()).exitCode());

      makeToken();
      t0 = System.currentTimeMillis();
      List<String> after = List.of();
      while (System.currentTimeMillis() - t0 < 10_000) {
        Proc.Result r = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-L");
        after = r.exitCode() == 0 ? r.stdout().lines().toList() : List.of();
        if (after.size() == 4) {
          break;
        }
        Thread.sleep(200);
      }
      assertEquals(4, after.size(), keymux.log());
      Files.writeString(pub, after.get(0) + "\n");
      Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file", data.toString()).assertOk();

      // A key generated on the present token is listed within ~2 s.
      hsm.generate("keymux-test", PIN, "EC:prime256v1", "09", "generated-later");
      t0 = System.currentTimeMillis();
      while (!Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-L").stdout().contains(" generated-later")) {
        assertTrue(System.currentTimeMillis() - t0 < 3000, "new key listed within ~2 s: " + keymux.log());
        Thread.sleep(200);
      }
    }
  }

  @Test
  void aModuleThatIsNotPkcs11GivesAClearErrorAndTheAgentKeepsServing() throws Exception {
    Path conf = dir.resolve("bad.conf");
    Files.writeString(conf, "keymux.backends.files = null\nkeymux.backends.bad { type = pkcs11, module = \"/bin/ls\" }\n");
    try (KeymuxProcess keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("home2")), Map.of(), "--config", conf.toString())) {
      Path own = TestKeys.generate(dir, "own", "ecdsa-256", "own");
      Proc.run(T, keymux.env(), "/usr/bin/ssh-add", own.toString()).assertOk();
      String listed = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").assertOk().stdout();
      assertTrue(listed.contains(TestKeys.fingerprint(own)), listed);
      assertTrue(keymux.log().contains("/bin/ls") && keymux.log().contains("not a usable PKCS#11 library"), keymux.log());
    }
  }

  // ---- ssh-add -s / -e through keymux

  private Map<String, String> sshAddPinEnv(KeymuxProcess k, String pin) {
    Path askpass = Askpass.answering(dir.resolve("pin-" + pin), pin);
    return with(k.env(), Map.of("SSH_ASKPASS", askpass.toString(), "SSH_ASKPASS_REQUIRE", "force", "DISPLAY", ":0"));
  }

  private KeymuxProcess plain(String... args) throws Exception {
    return plain(Map.of(), args);
  }

  private KeymuxProcess plain(Map<String, String> env, String... args) throws Exception {
    Path conf = dir.resolve("plain.conf");
    Files.writeString(conf, "keymux.backends.files = null\n");
    List<String> a = new ArrayList<>(List.of("--config", conf.toString()));
    a.addAll(List.of(args));
    return KeymuxProcess.start(Files.createDirectories(dir.resolve("home3")), with(hsm.env(), env), a.toArray(String[]::new));
  }

  @Test
  void sshAddDashSLoadsEveryKeyOfTheTokenAndDashERemovesThem() throws Exception {
    try (KeymuxProcess keymux = plain()) {
      Proc.run(T, sshAddPinEnv(keymux, PIN), "/usr/bin/ssh-add", "-s", SoftHsm.MODULE).assertOk();
      List<String> lines = publicLines(keymux);
      assertEquals(4, lines.size(), "RSA, two ECDSA and Ed25519: " + lines);
      Path pub = dir.resolve("ed.pub");
      Files.writeString(pub, lines.stream().filter(l -> l.startsWith("ssh-ed25519")).findFirst().orElseThrow() + "\n");
      Path data = dir.resolve("d");
      Files.writeString(data, "x\n");
      Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file", data.toString()).assertOk();
      assertNotEquals(0, Proc.run(T, sshAddPinEnv(keymux, PIN), "/usr/bin/ssh-add", "-s", SoftHsm.MODULE).exitCode(),
          "adding the same provider twice fails");
      Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-e", SoftHsm.MODULE).assertOk();
      assertEquals(1, Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").exitCode());
    }
  }

  @Test
  void sshAddDashSWithDashCConfirmsEveryUseAndWithDashTExpires() throws Exception {
    Path log = dir.resolve("confirm.log");
    Path confirm = Askpass.recording(dir.resolve("confirm"), "", log); // exits 0: yes
    try (KeymuxProcess keymux = plain(Map.of("SSH_ASKPASS", confirm.toString(), "SSH_ASKPASS_REQUIRE", "force"))) {
      Proc.run(T, sshAddPinEnv(keymux, PIN), "/usr/bin/ssh-add", "-c", "-t", "6", "-s", SoftHsm.MODULE).assertOk();
      long added = System.currentTimeMillis();
      List<String> lines = publicLines(keymux);
      assertEquals(4, lines.size(), lines.toString());
      Path pub = dir.resolve("c.pub");
      Files.writeString(pub, lines.get(0) + "\n");
      Path data = dir.resolve("d");
      Files.writeString(data, "x\n");
      Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file", data.toString()).assertOk();
      List<String> asked = Files.readAllLines(log);
      assertEquals(List.of("hint=confirm"), asked.stream().filter(l -> l.startsWith("hint=")).toList(), asked.toString());
      assertTrue(asked.get(0).startsWith("prompt=Allow use of key "), asked.toString());
      while (Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").exitCode() != 1) {
        assertTrue(System.currentTimeMillis() - added < 10_000, "the keys expire after 6 s: " + keymux.log());
        Thread.sleep(250);
      }
      assertTrue(System.currentTimeMillis() - added > 5_000, "not before their lifetime");
    }
  }

  @Test
  void sshAddDashSWithAWrongPinAddsNothing() throws Exception {
    try (KeymuxProcess keymux = plain()) {
      assertNotEquals(0, Proc.run(T, sshAddPinEnv(keymux, "999999"), "/usr/bin/ssh-add", "-s", SoftHsm.MODULE).exitCode());
      assertEquals(1, Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").exitCode());
      assertTrue(keymux.log().contains("wrong PIN"), keymux.log());
    }
  }

  @Test
  void aModuleOutsideTheAllowlistIsRefused() throws Exception {
    try (KeymuxProcess keymux = plain("-P", "/opt/only-this/*")) {
      assertNotEquals(0, Proc.run(T, sshAddPinEnv(keymux, PIN), "/usr/bin/ssh-add", "-s", SoftHsm.MODULE).exitCode());
      assertTrue(keymux.log().contains("not in the allowlist"), keymux.log());
      assertEquals(1, Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").exitCode());
    }
  }

  /** zlib: a shared library inside the default allowlist that is not a PKCS#11 module. */
  private static Path zlib() {
    for (String p : List.of("/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/aarch64-linux-gnu/libz.so.1",
        "/usr/lib/i386-linux-gnu/libz.so.1", "/usr/lib64/libz.so.1", "/usr/lib/libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1")) {
      if (Files.isReadable(Path.of(p))) {
        return Path.of(p);
      }
    }
    return null;
  }

  @Test
  void anAllowedLibraryThatIsNotPkcs11IsRefusedClearly() throws Exception {
    Path notPkcs11 = zlib();
    // zlib1g comes with every Debian system and is a dependency of opensc, which the softhsm tests need anyway.
    RealComponents.require("softhsm", notPkcs11 != null, "no zlib (libz.so.1) under /usr/lib*: apt-get install zlib1g");
    try (KeymuxProcess keymux = plain()) {
      assertNotEquals(0, Proc.run(T, sshAddPinEnv(keymux, PIN), "/usr/bin/ssh-add", "-s", notPkcs11.toString()).exitCode());
      assertTrue(keymux.log().contains("not a usable PKCS#11 library"), keymux.log());
      Proc.run(T, sshAddPinEnv(keymux, PIN), "/usr/bin/ssh-add", "-s", SoftHsm.MODULE).assertOk();
    }
  }

  /**
   * The socket file appears at bind(2), a moment before listen(2): a client that connects at once
   * (rather than after starting a process, as the OpenSSH tools do) waits for keymux's log line.
   */
  private static void awaitListening(KeymuxProcess keymux) throws Exception {
    long t0 = System.currentTimeMillis();
    while (!keymux.log().contains("listening on")) {
      assertTrue(System.currentTimeMillis() - t0 < 20_000, keymux.log());
      Thread.sleep(20);
    }
  }

  @Test
  void aForwardedConnectionMayNotLoadAProvider() throws Exception {
    Path hostKey = TestKeys.generate(dir, "host", "ed25519", "host");
    var add = dev.keymux.core.contract.SshAddCapture.captureOne(dir, hostKey);
    try (KeymuxProcess keymux = plain();
        var host = dev.keymux.core.keys.SshPrivateKey.fromAgentWire(add.keyMaterial());
        var client = new dev.keymux.core.client.AgentClient(keymux.socket, Duration.ofSeconds(10))) {
      awaitListening(keymux);
      byte[] sid = "session id".getBytes();
      byte[] bind = new dev.keymux.core.wire.SshWriter().writeString(host.publicBlob()).writeString(sid)
          .writeString(host.sign(sid, 0)).writeBoolean(true).toByteArray();
      var session = dev.keymux.core.agent.Session.local();
      assertInstanceOf(dev.keymux.core.wire.AgentResponse.Success.class,
          client.call(new dev.keymux.core.wire.AgentRequest.Extension("session-bind@openssh.com", bind)));
      var r = client.call(new dev.keymux.core.wire.AgentRequest.AddSmartcardKey(SoftHsm.MODULE, PIN.getBytes(), List.of()));
      assertInstanceOf(dev.keymux.core.wire.AgentResponse.Failure.class, r);
      assertTrue(keymux.log().contains("session-bind seen"), keymux.log());
      assertEquals(List.of(), client.list(session));
    }
  }

  @Test
  void aConnectionThatSentAnySessionBindMayNotLoadAProviderEvenARefusedOrAuthenticationOne() throws Exception {
    Path hostKey = TestKeys.generate(dir, "host", "ed25519", "host");
    var add = dev.keymux.core.contract.SshAddCapture.captureOne(dir, hostKey);
    try (KeymuxProcess keymux = plain();
        var host = dev.keymux.core.keys.SshPrivateKey.fromAgentWire(add.keyMaterial())) {
      awaitListening(keymux);
      byte[] sid = "session id".getBytes();
      var addProvider = new dev.keymux.core.wire.AgentRequest.AddSmartcardKey(SoftHsm.MODULE, PIN.getBytes(), List.of());
      // A binding whose signature does not verify (OpenSSH: session_bind_attempted).
      try (var client = new dev.keymux.core.client.AgentClient(keymux.socket, Duration.ofSeconds(10))) {
        byte[] refused = new dev.keymux.core.wire.SshWriter().writeString(host.publicBlob()).writeString(sid)
            .writeString(host.sign("another id".getBytes(), 0)).writeBoolean(true).toByteArray();
        assertInstanceOf(dev.keymux.core.wire.AgentResponse.Failure.class,
            client.call(new dev.keymux.core.wire.AgentRequest.Extension("session-bind@openssh.com", refused)));
        assertInstanceOf(dev.keymux.core.wire.AgentResponse.Failure.class, client.call(addProvider));
      }
      // A valid binding for authentication, not forwarding.
      try (var client = new dev.keymux.core.client.AgentClient(keymux.socket, Duration.ofSeconds(10))) {
        byte[] auth = new dev.keymux.core.wire.SshWriter().writeString(host.publicBlob()).writeString(sid)
            .writeString(host.sign(sid, 0)).writeBoolean(false).toByteArray();
        assertInstanceOf(dev.keymux.core.wire.AgentResponse.Success.class,
            client.call(new dev.keymux.core.wire.AgentRequest.Extension("session-bind@openssh.com", auth)));
        assertInstanceOf(dev.keymux.core.wire.AgentResponse.Failure.class, client.call(addProvider));
      }
      assertEquals(2, keymux.log().split("session-bind seen", -1).length - 1, keymux.log());
      assertEquals(1, Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").exitCode(), "nothing loaded");
      // A local connection without any binding still may.
      Proc.run(T, sshAddPinEnv(keymux, PIN), "/usr/bin/ssh-add", "-s", SoftHsm.MODULE).assertOk();
    }
  }

  @Test
  void aKeyKnownOnlyByItsX509CertificateIsOfferedAndTheKeysFilterWorks() throws Exception {
    // An imported P-256 key whose public key object is removed, leaving private key + certificate.
    Path key = dir.resolve("cert-key.pem");
    Path cert = dir.resolve("cert.der");
    Proc.run(T, Map.of(), "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", key.toString(), "-subj", "/CN=keymux test", "-days", "2", "-outform", "DER", "-out",
        cert.toString()).assertOk();
    Path pkcs8 = dir.resolve("cert-key.p8");
    Proc.run(T, Map.of(), "/usr/bin/openssl", "pkcs8", "-topk8", "-nocrypt", "-in", key.toString(), "-out", pkcs8.toString()).assertOk();
    Proc.run(T, hsm.env(), "/usr/bin/softhsm2-util", "--import", pkcs8.toString(), "--token", "keymux-test", "--label", "certkey",
        "--id", "0a", "--pin", PIN).assertOk();
    Proc.run(T, hsm.env(), "/usr/bin/pkcs11-tool", "--module", SoftHsm.MODULE, "--token-label", "keymux-test", "--login",
        "--pin", PIN, "--delete-object", "--type", "pubkey", "--id", "0a").assertOk();
    Proc.run(T, hsm.env(), "/usr/bin/pkcs11-tool", "--module", SoftHsm.MODULE, "--token-label", "keymux-test", "--login",
        "--pin", PIN, "--write-object", cert.toString(), "--type", "cert", "--id", "0a", "--label", "certkey").assertOk();
    String expected = Proc.run(T, Map.of(), "/bin/sh", "-c", "/usr/bin/openssl x509 -inform DER -in " + cert
        + " -pubkey -noout > " + dir.resolve("cert-pub.pem") + " && /usr/bin/ssh-keygen -i -m PKCS8 -f "
        + dir.resolve("cert-pub.pem")).assertOk().stdout().trim().split(" ")[1];

    Path conf = dir.resolve("filter.conf");
    Files.writeString(conf, "keymux.backends.files = null\nkeymux.backends.hsm { type = pkcs11, module = \""
        + SoftHsm.MODULE + "\", token = keymux-test, pin = \"env:HSM_PIN\", keys = [certkey, \"04\"] }\n");
    try (KeymuxProcess keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("home4")),
        with(hsm.env(), Map.of("HSM_PIN", PIN)), "--config", conf.toString())) {
      List<String> lines = publicLines(keymux);
      assertEquals(2, lines.size(), "the filter keeps key id 04 and label certkey: " + lines);
      String certLine = lines.stream().filter(l -> l.endsWith(" certkey")).findFirst().orElseThrow();
      assertEquals(expected, certLine.split(" ")[1]);
      assertTrue(lines.stream().anyMatch(l -> l.startsWith("ssh-ed25519")), "id 04 is the Ed25519 key");
      Path pub = dir.resolve("certkey.pub");
      Files.writeString(pub, certLine + "\n");
      Path data = dir.resolve("d");
      Files.writeString(data, "x\n");
      Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file", data.toString()).assertOk();
      Path allowed = dir.resolve("allowed-cert");
      Files.writeString(allowed, "t " + certLine + "\n");
      Proc.run(T, Map.of(), "/bin/sh", "-c", "/usr/bin/ssh-keygen -Y verify -f " + allowed + " -I t -n file -s " + data
          + ".sig < " + data).assertOk();
    }
  }

  @Test
  void pinCacheEndsTheLoginAndLockLogsOut() throws Exception {
    Path log = dir.resolve("pins.log");
    Path askpass = Askpass.recording(dir.resolve("bin"), PIN, log);
    Path conf = dir.resolve("cache.conf");
    Files.writeString(conf, "keymux.backends.files = null\nkeymux.backends.hsm { type = pkcs11, module = \""
        + SoftHsm.MODULE + "\", token = keymux-test, pin-cache = 2s }\n");
    try (KeymuxProcess keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("home5")),
        with(hsm.env(), Askpass.env(askpass)), "--config", conf.toString())) {
      Path pub = dir.resolve("k.pub");
      Files.writeString(pub, publicLines(keymux).get(0) + "\n");
      Path data = dir.resolve("d");
      Files.writeString(data, "x\n");
      String[] sign = {"/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file", data.toString()};
      Proc.run(T, keymux.env(), sign).assertOk();
      Files.delete(Path.of(data + ".sig"));
      Proc.run(T, keymux.env(), sign).assertOk(); // within the cache: no new prompt
      Files.delete(Path.of(data + ".sig"));
      Thread.sleep(3000);
      Proc.run(T, keymux.env(), sign).assertOk(); // cache elapsed: asked again
      Files.delete(Path.of(data + ".sig"));
      Map<String, String> lockEnv = with(keymux.env(), Map.of("SSH_ASKPASS", Askpass.answering(dir.resolve("lk"), "l").toString(),
          "SSH_ASKPASS_REQUIRE", "force", "DISPLAY", ":0"));
      Proc.run(T, lockEnv, "/usr/bin/ssh-add", "-x").assertOk();
      Proc.run(T, lockEnv, "/usr/bin/ssh-add", "-X").assertOk();
      Proc.run(T, keymux.env(), sign).assertOk(); // locking logged out: asked again
      long prompts = Files.readAllLines(log).stream().filter(l -> l.startsWith("prompt=Enter PIN")).count();
      assertEquals(3, prompts, Files.readString(log));
    }
  }

  @Test
  void severalTokensAtOnceThroughConfigAndThroughSshAddDashS() throws Exception {
    hsm.initToken("second", PIN);
    hsm.generate("second", PIN, "EC:prime256v1", "21", "second-key");
    Path conf = dir.resolve("two.conf");
    Files.writeString(conf, "keymux.backends.files = null\n"
        + "keymux.backends.one { type = pkcs11, module = \"" + SoftHsm.MODULE + "\", token = keymux-test, pin = \"env:HSM_PIN\" }\n"
        + "keymux.backends.two { type = pkcs11, module = \"" + SoftHsm.MODULE + "\", token = second, pin = \"env:HSM_PIN\" }\n");
    try (KeymuxProcess keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("home6")),
        with(hsm.env(), Map.of("HSM_PIN", PIN)), "--config", conf.toString())) {
      List<String> lines = publicLines(keymux);
      assertEquals(5, lines.size(), lines.toString());
      assertTrue(lines.stream().anyMatch(l -> l.endsWith(" second-key")), lines.toString());
      String listed = Proc.run(T, keymux.env(), KeymuxProcess.command("list").toArray(String[]::new)).assertOk().stdout();
      assertTrue(listed.contains("one (token 'keymux-test')") && listed.contains("two (token 'second')"), listed);
    }
    try (KeymuxProcess keymux = plain()) {
      Proc.run(T, sshAddPinEnv(keymux, PIN), "/usr/bin/ssh-add", "-s", SoftHsm.MODULE).assertOk();
      assertEquals(5, publicLines(keymux).size(), "ssh-add -s loads every token of the module");
    }
  }

  @Test
  void anImportedEd25519KeyWithTheOidFormOfItsParametersSigns() throws Exception {
    // softhsm2-util --import stores CKA_EC_PARAMS as OID 1.3.101.112 (generated keys use "edwards25519").
    Path key = dir.resolve("ed.pem");
    Proc.run(T, Map.of(), "/usr/bin/openssl", "genpkey", "-algorithm", "ed25519", "-out", key.toString()).assertOk();
    Proc.run(T, hsm.env(), "/usr/bin/softhsm2-util", "--import", key.toString(), "--token", "keymux-test", "--label",
        "imported-ed", "--id", "0e", "--pin", PIN).assertOk();
    try (KeymuxProcess keymux = start("env:HSM_PIN", Map.of("HSM_PIN", PIN))) {
      String line = publicLines(keymux).stream().filter(l -> l.endsWith(" imported-ed")).findFirst().orElseThrow();
      assertTrue(line.startsWith("ssh-ed25519 "), line);
      Path pub = dir.resolve("imported.pub");
      Files.writeString(pub, line + "\n");
      Path data = dir.resolve("d");
      Files.writeString(data, "x\n");
      Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file", data.toString()).assertOk();
      Path allowed = dir.resolve("allowed-imported");
      Files.writeString(allowed, "t " + line + "\n");
      Proc.run(T, Map.of(), "/bin/sh", "-c", "/usr/bin/ssh-keygen -Y verify -f " + allowed + " -I t -n file -s " + data
          + ".sig < " + data).assertOk();
    }
  }
}
