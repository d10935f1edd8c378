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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real logins: OpenSSH's ssh authenticates to a real sshd on 127.0.0.1 with keys that only
 * keymux holds (no identity files), for every key type and for CA-signed Ed25519 and RSA
 * certificates.
 */
class SshLoginTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir static Path dir;
  static Sshd sshd;
  static KeymuxProcess keymux;
  static Path certKey;
  static Path rsaCertKey;

  @BeforeAll
  static void start() throws Exception {
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed (apt-get install openssh-server)");
    Path keys = Files.createDirectories(dir.resolve("keys"));
    StringBuilder authorized = new StringBuilder();
    for (String type : TestKeys.allTypes()) {
      Path k = TestKeys.generate(keys, "id_" + type.replace('-', '_'), type, "login " + type);
      authorized.append(TestKeys.publicLine(k)).append('\n');
    }
    Path ca = TestKeys.generate(keys, "ca", "ed25519", "test ca");
    certKey = TestKeys.generate(keys, "id_cert", "ed25519", "cert only");
    TestKeys.certify(ca, Path.of(certKey + ".pub"), "keymux-it", System.getProperty("user.name"), "+1h");
    rsaCertKey = TestKeys.generate(keys, "id_rsa_cert", "rsa-2048", "rsa cert only");
    TestKeys.certify(ca, Path.of(rsaCertKey + ".pub"), "keymux-it-rsa", System.getProperty("user.name"), "+1h");
    Path authorizedKeys = dir.resolve("authorized_keys");
    Files.writeString(authorizedKeys, authorized);
    sshd = Sshd.start(Files.createDirectories(dir.resolve("sshd")), authorizedKeys,
        List.of("TrustedUserCAKeys " + ca + ".pub"));
    keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("keymux")), Map.of(), "--debug");
  }

  @AfterAll
  static void stop() throws Exception {
    if (keymux != null) {
      keymux.close();
    }
    if (sshd != null) {
      sshd.close();
    }
  }

  static Path key(String type) {
    return dir.resolve("keys").resolve("id_" + type.replace('-', '_'));
  }

  private Proc.Result sshAdd(String... args) {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/ssh-add"));
    cmd.addAll(List.of(args));
    return Proc.run(T, keymux.env(), cmd.toArray(String[]::new));
  }

  private Proc.Result login(String... extraOptions) {
    List<String> opts = new ArrayList<>(List.of("-o", "IdentityFile=" + dir.resolve("no-such-identity"), "-o", "LogLevel=VERBOSE"));
    opts.addAll(List.of(extraOptions));
    List<String> cmd = sshd.sshCommand("echo logged-in-as-$(id -un)", opts.toArray(String[]::new));
    return Proc.run(T, keymux.env(), cmd.toArray(String[]::new));
  }

  @ParameterizedTest
  @ValueSource(strings = {"ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048", "rsa-3072"})
  void logsInWithEveryKeyTypeHeldOnlyByKeymux(String type) {
    sshAdd("-D").assertOk();
    sshAdd(key(type).toString()).assertOk();
    Proc.Result r = login().assertOk();
    assertTrue(r.stdout().contains("logged-in-as-"), r.stdout());
    sshAdd("-D").assertOk();
    assertNotEquals(0, login().exitCode(), "without the key in keymux the login fails");
  }

  @Test
  void rsaLoginUsesRsaSha2_512() throws Exception {
    sshAdd("-D").assertOk();
    sshAdd(key("rsa-2048").toString()).assertOk();
    // The client may only use rsa-sha2-512, so the login itself proves the signature algorithm.
    login("-o", "PubkeyAcceptedAlgorithms=rsa-sha2-512").assertOk();
    assertTrue(keymux.log().contains("as rsa-sha2-512"), keymux.log());
  }

  @Test
  void logsInWithACertificateSignedByATestCa() {
    sshAdd("-D").assertOk();
    // ssh-add loads id_cert and id_cert-cert.pub; id_cert's plain key is not authorized, only the cert is.
    sshAdd(certKey.toString()).assertOk();
    String listed = sshAdd("-l").assertOk().stdout();
    assertTrue(listed.contains("ED25519-CERT"), listed);
    login().assertOk();
    assertTrue(sshd.log().contains("Accepted publickey") && sshd.log().contains("ED25519-CERT"), sshd.log());
  }

  @Test
  void logsInWithAnRsaCertificateSigningWithRsaSha2_512() throws Exception {
    sshAdd("-D").assertOk();
    // ssh-add sends id_rsa_cert's private key with its certificate (ssh-rsa-cert-v01@openssh.com);
    // the plain key is not authorized, so only the certificate can log in.
    sshAdd(rsaCertKey.toString()).assertOk();
    String listed = sshAdd("-l").assertOk().stdout();
    assertTrue(listed.contains("RSA-CERT"), listed);
    // The client may only use rsa-sha2-512 with the certificate: the login proves the algorithm.
    login("-o", "PubkeyAcceptedAlgorithms=rsa-sha2-512-cert-v01@openssh.com").assertOk();
    assertTrue(sshd.log().contains("Accepted publickey") && sshd.log().contains("RSA-CERT"), sshd.log());
    assertTrue(keymux.log().lines().anyMatch(l -> l.contains("ssh-rsa-cert-v01@openssh.com key") && l.contains("as rsa-sha2-512")),
        keymux.log());
    sshAdd("-D").assertOk();
    assertNotEquals(0, login("-o", "PubkeyAcceptedAlgorithms=rsa-sha2-512-cert-v01@openssh.com").exitCode(),
        "without the certificate in keymux the login fails");
  }

  @Test
  void gitClonesOverSshWithAKeyHeldByKeymux() throws Exception {
    sshAdd("-D").assertOk();
    sshAdd(key("ecdsa-384").toString()).assertOk();
    Path repo = dir.resolve("repo.git");
    Proc.run(T, Map.of(), "/usr/bin/git", "init", "-q", "--bare", repo.toString()).assertOk();
    List<String> ssh = sshd.sshCommand("true", "-o", "IdentityFile=" + dir.resolve("no-such-identity"));
    // GIT_SSH_COMMAND gets the ssh options; git appends host and command itself.
    String sshCommand = String.join(" ", ssh.subList(0, ssh.size() - 2));
    Map<String, String> env = new java.util.HashMap<>(keymux.env());
    env.put("GIT_SSH_COMMAND", sshCommand);
    Path clone = dir.resolve("clone");
    Proc.Result r = Proc.run(T, env, "/usr/bin/git", "clone", "-q",
        System.getProperty("user.name") + "@127.0.0.1:" + repo, clone.toString());
    r.assertOk();
    assertTrue(Files.isDirectory(clone.resolve(".git")), r.toString());
  }

  @Test
  void theClientsSessionBindIsVerifiedAndRecorded() throws Exception {
    sshAdd("-D").assertOk();
    sshAdd(key("ed25519").toString()).assertOk();
    login().assertOk();
    String log = keymux.log();
    assertTrue(log.contains("bound to host key"), "keymux verified OpenSSH's session-bind:\n" + log);
    assertFalse(log.contains("session-bind signature does not verify"), log);
  }
}
