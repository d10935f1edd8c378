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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FIDO security keys through keymux with OpenSSH's dummy authenticator (sk-dummy.so from
 * openssh-tests): real enrolment with ssh-keygen, ssh-add with SSH_SK_PROVIDER, keymux signing
 * through OpenSSH's ssh-sk-helper, and a real login to a loopback sshd. Also DSA via ssh-add.
 */
class SecurityKeyTest {
  static final Duration T = Duration.ofSeconds(60);
  static final Path SK_DUMMY = Path.of("/usr/lib/openssh/regress/misc/sk-dummy/sk-dummy.so");
  static final Path SK_HELPER = Path.of("/usr/lib/openssh/ssh-sk-helper");
  @TempDir static Path dir;
  static Sshd sshd;
  static KeymuxProcess keymux;

  @BeforeAll
  static void start() throws Exception {
    RealComponents.require("fido", Files.isRegularFile(SK_DUMMY) && Files.isExecutable(SK_HELPER),
        "OpenSSH's dummy FIDO authenticator or ssh-sk-helper is missing (apt-get install openssh-tests openssh-client)");
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed (apt-get install openssh-server)");
    StringBuilder authorized = new StringBuilder();
    for (String type : List.of("ed25519-sk", "ecdsa-sk")) {
      Path k = dir.resolve("id_" + type.replace('-', '_'));
      Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-q", "-t", type, "-w", SK_DUMMY.toString(), "-N", "", "-C",
          "fido " + type, "-f", k.toString()).assertOk();
      authorized.append(TestKeys.publicLine(k)).append('\n');
    }
    Path dsa = dir.resolve("id_dsa");
    Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-q", "-t", "dsa", "-N", "", "-C", "old dsa", "-f", dsa.toString()).assertOk();
    authorized.append(TestKeys.publicLine(dsa)).append('\n');
    Path authorizedKeys = dir.resolve("authorized_keys");
    Files.writeString(authorizedKeys, authorized);
    sshd = Sshd.start(Files.createDirectories(dir.resolve("sshd")), authorizedKeys,
        List.of("PubkeyAcceptedAlgorithms +ssh-dss"));
    keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("keymux")), Map.of(), "--debug",
        "-P", "/usr/lib/openssh/regress/*");
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {keymux, sshd}) {
      if (c != null) {
        c.close();
      }
    }
  }

  @BeforeEach
  void empty() {
    sshAdd(Map.of(), "-D").assertOk();
  }

  private static Proc.Result sshAdd(Map<String, String> extra, String... args) {
    Map<String, String> env = new HashMap<>(keymux.env());
    env.putAll(extra);
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/ssh-add"));
    cmd.addAll(List.of(args));
    return Proc.run(T, env, cmd.toArray(String[]::new));
  }

  private static Proc.Result login(String... options) {
    List<String> opts = new ArrayList<>(List.of("-o", "IdentityFile=" + dir.resolve("no-such-identity")));
    opts.addAll(List.of(options));
    return Proc.run(T, keymux.env(), sshd.sshCommand("echo fido-login-ok", opts.toArray(String[]::new)).toArray(String[]::new));
  }

  @ParameterizedTest
  @ValueSource(strings = {"ed25519-sk", "ecdsa-sk"})
  void aSecurityKeyAddedWithSshAddLogsIn(String type) throws Exception {
    Path key = dir.resolve("id_" + type.replace('-', '_'));
    sshAdd(Map.of("SSH_SK_PROVIDER", SK_DUMMY.toString()), key.toString()).assertOk();
    assertTrue(sshAdd(Map.of(), "-l").assertOk().stdout().contains(TestKeys.fingerprint(key)));
    Proc.Result r = login();
    assertEquals(0, r.exitCode(), r + "\nkeymux:\n" + keymux.log() + "\nsshd:\n" + sshd.log());
    assertEquals("fido-login-ok", r.stdout().trim());
    assertTrue(keymux.log().contains("touch your security key"), "the user is told to touch the key");
  }

  @ParameterizedTest
  @ValueSource(strings = {"ed25519-sk", "ecdsa-sk"})
  void aSecurityKeyFileIsServedByTheFileBackendAndLogsIn(String type) throws Exception {
    String name = "id_" + type.replace('-', '_');
    Path home = Files.createDirectories(dir.resolve("files-" + type));
    Path ssh = Files.createDirectories(home.resolve(".ssh"));
    Files.copy(dir.resolve(name), ssh.resolve(name));
    Files.copy(dir.resolve(name + ".pub"), ssh.resolve(name + ".pub"));
    Files.setPosixFilePermissions(ssh.resolve(name), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    // The default configuration: the file backend reads ~/.ssh/id_*; the provider is keymux's SSH_SK_PROVIDER.
    try (KeymuxProcess files = KeymuxProcess.start(home, Map.of("SSH_SK_PROVIDER", SK_DUMMY.toString()), "--debug")) {
      Proc.Result listed = Proc.run(T, files.env(), "/usr/bin/ssh-add", "-l");
      assertTrue(listed.stdout().contains(TestKeys.fingerprint(dir.resolve(name))), listed + "\n" + files.log());
      List<String> opts = List.of("-o", "IdentityFile=" + dir.resolve("no-such-identity"));
      Proc.Result r = Proc.run(T, files.env(), sshd.sshCommand("echo fido-login-ok", opts.toArray(String[]::new)).toArray(String[]::new));
      assertEquals(0, r.exitCode(), r + "\nkeymux:\n" + files.log());
      assertEquals("fido-login-ok", r.stdout().trim());
    }
  }

  @Test
  void theTouchIsAskedForOnScreenThroughTheAskpassAsOpenSshDoes() throws Exception {
    Path home = Files.createDirectories(dir.resolve("askpass-home"));
    Path seen = home.resolve("askpass.log");
    Path askpass = dev.keymux.testing.Askpass.recording(home, "", seen);
    try (KeymuxProcess k = KeymuxProcess.start(home, Map.of("SSH_ASKPASS", askpass.toString(), "SSH_ASKPASS_REQUIRE", "force"),
        "-P", "/usr/lib/openssh/regress/*")) {
      Map<String, String> env = new HashMap<>(k.env());
      env.put("SSH_SK_PROVIDER", SK_DUMMY.toString());
      Proc.run(T, env, "/usr/bin/ssh-add", dir.resolve("id_ed25519_sk").toString()).assertOk();
      List<String> opts = List.of("-o", "IdentityFile=" + dir.resolve("no-such-identity"));
      Proc.Result r = Proc.run(T, k.env(), sshd.sshCommand("echo fido-login-ok", opts.toArray(String[]::new)).toArray(String[]::new));
      assertEquals(0, r.exitCode(), r + "\n" + k.log());
      String shown = Files.readString(seen);
      assertTrue(shown.contains("prompt=touch your security key") && shown.contains("hint=none"), shown);
    }
  }

  @Test
  void aProviderOutsideTheAllowlistIsRefused() throws Exception {
    Path elsewhere = Files.createDirectories(dir.resolve("not-allowed")).resolve("sk-dummy.so");
    Files.copy(SK_DUMMY, elsewhere);
    Path key = dir.resolve("id_ed25519_sk");
    Proc.Result r = sshAdd(Map.of("SSH_SK_PROVIDER", elsewhere.toString()), key.toString());
    assertEquals(1, r.exitCode(), r.toString());
    assertEquals(1, sshAdd(Map.of(), "-l").exitCode(), "nothing was added");
    assertTrue(keymux.log().contains("is not in the allowlist"), keymux.log());
  }

  @Test
  void aDsaKeyIsAddedWithAWarningAndLogsIn() throws Exception {
    sshAdd(Map.of(), dir.resolve("id_dsa").toString()).assertOk();
    assertTrue(keymux.log().contains("OpenSSH 10 removed DSA support"), keymux.log());
    Proc.Result r = login("-o", "PubkeyAcceptedAlgorithms=+ssh-dss");
    assertEquals(0, r.exitCode(), r + "\nsshd:\n" + sshd.log());
  }
}
