package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Askpass;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every key file format × type × passphrase that ssh-keygen writes, served by keymux's file
 * backend: each is listed with ssh-keygen's fingerprint, signs an `ssh-keygen -Y sign` request
 * that `-Y verify` accepts, and logs in to a loopback sshd (ssh picks that key from the agent
 * by its .pub).
 */
class FileKeyFormatsTest {
  static final Duration T = Duration.ofSeconds(60);
  static final String PASS = "fixture pass";
  @TempDir static Path dir;
  static Sshd sshd;
  static KeymuxProcess keymux;
  static final List<Path> FIXTURES = new ArrayList<>();

  static Stream<String> fixtures() {
    List<String> names = new ArrayList<>();
    for (String type : List.of("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048", "rsa-3072")) {
      for (String format : List.of("RFC4716", "PEM", "PKCS8")) {
        if (type.equals("ed25519") && !format.equals("RFC4716")) {
          continue; // ssh-keygen writes ed25519 only in its own format
        }
        names.add(type + "_" + format + "_plain");
        names.add(type + "_" + format + "_pass");
      }
    }
    for (String z : List.of("aes256-cbc", "aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com")) {
      names.add("ed25519_RFC4716_pass_" + z);
    }
    return names.stream();
  }

  @BeforeAll
  static void start() throws Exception {
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed");
    Path keys = Files.createDirectories(dir.resolve("keys"));
    StringBuilder authorized = new StringBuilder();
    for (String name : fixtures().toList()) {
      String[] p = name.split("_");
      String[] t = p[0].split("-");
      List<String> cmd = new ArrayList<>(List.of("/usr/bin/ssh-keygen", "-q", "-t", t[0], "-m", p[1],
          "-N", p[2].equals("pass") ? PASS : "", "-C", name, "-f", keys.resolve(name).toString()));
      if (t.length > 1) {
        cmd.addAll(List.of("-b", t[1]));
      }
      if (p.length > 3) {
        cmd.addAll(List.of("-Z", p[3]));
      }
      Proc.run(T, Map.of(), cmd.toArray(String[]::new)).assertOk();
      authorized.append(TestKeys.publicLine(keys.resolve(name))).append('\n');
    }
    Path authorizedKeys = dir.resolve("authorized_keys");
    Files.writeString(authorizedKeys, authorized);
    sshd = Sshd.start(Files.createDirectories(dir.resolve("sshd")), authorizedKeys);
    Path conf = dir.resolve("keymux.conf");
    Files.writeString(conf, "keymux.backends.files { paths = [\"" + keys + "/*\"], watch = false }\n");
    Path askpass = Askpass.answering(dir.resolve("bin"), PASS);
    keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("home")), Askpass.env(askpass),
        "--config", conf.toString());
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

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void listedSignedVerifiedAndLoggedIn(String name) throws Exception {
    Path key = dir.resolve("keys").resolve(name);
    Path pub = Path.of(key + ".pub");
    String listed = Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").assertOk().stdout();
    assertTrue(listed.contains(TestKeys.fingerprint(key) + " " + name), listed);

    Path data = dir.resolve("data-" + name);
    Files.writeString(data, "signed with " + name + "\n");
    Proc.run(T, keymux.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", pub.toString(), "-n", "file", data.toString()).assertOk();
    Path allowed = dir.resolve("allowed-" + name);
    Files.writeString(allowed, "tester " + TestKeys.publicLine(key) + "\n");
    Proc.run(T, Map.of(), "/bin/sh", "-c", "/usr/bin/ssh-keygen -Y verify -f " + allowed + " -I tester -n file -s "
        + data + ".sig < " + data).assertOk();

    List<String> cmd = sshd.sshCommand("echo in", "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=" + pub);
    Proc.Result login = Proc.run(T, keymux.env(), cmd.toArray(String[]::new)).assertOk();
    assertEquals("in", login.stdout().trim());
  }
}
