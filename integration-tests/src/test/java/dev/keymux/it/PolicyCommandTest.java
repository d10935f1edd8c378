package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keymux policy check} and {@code keymux policy explain} as a user runs them. */
class PolicyCommandTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir Path dir;

  Proc.Result keymux(String... args) {
    return Proc.run(T, KeymuxProcess.cleanEnv(dir), KeymuxProcess.command(args).toArray(String[]::new));
  }

  @Test
  void checkAcceptsAGoodFileAndListsEveryProblemOfABadOne() throws Exception {
    Path good = Files.writeString(dir.resolve("good.conf"), """
        keymux {
          backends.deploy { type = memory }
          rules = [ { match { client-name = git, destination = "github.com" }, action = confirm, remember = 5m } ]
          sockets.ci { backends = [deploy] }
        }
        """);
    Proc.Result ok = keymux("policy", "check", good.toString());
    assertEquals(0, ok.exitCode(), ok.toString());
    assertTrue(ok.stdout().contains("OK — 1 rule(s)") && ok.stdout().contains("scoped sockets: ci"), ok.stdout());

    Path bad = Files.writeString(dir.resolve("bad.conf"), """
        keymux {
          rules = [
            { match { client-nme = git }, action = allow }
          ]
          sockets.ci { backends = [nothere] }
        }
        """);
    Proc.Result r = keymux("policy", "check", bad.toString());
    assertEquals(1, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("bad.conf: 3: keymux.rules[0].match.client-nme: unknown setting — did you mean client-name?"),
        r.stderr());
    assertTrue(r.stderr().contains("bad.conf: 5: keymux.sockets.ci.backends: names backend 'nothere'"), r.stderr());
    assertTrue(r.stderr().contains("2 problem(s)"), r.stderr());
  }

  @Test
  void checkAlsoCatchesWhatOnlyABackendTypeKnows() throws Exception {
    Path bad = Files.writeString(dir.resolve("backends.conf"), """
        keymux.backends {
          hsm { type = pkcs12, module = "/usr/lib/softhsm/libsofthsm2.so" }
          files { type = file, pathz = ["~/.ssh/id_*"] }
        }
        """);
    Proc.Result r = keymux("policy", "check", bad.toString());
    assertEquals(1, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("backend hsm: unknown type 'pkcs12' (known types:"), r.stderr());
    assertTrue(r.stderr().contains("pathz") && r.stderr().contains("did you mean paths?"), r.stderr());
  }

  @Test
  void explainNamesTheDecidingRuleAndWhyEarlierOnesDidNot() throws Exception {
    Path host = TestKeys.generate(dir, "host", "ed25519", "github host key");
    Path kh = Files.writeString(dir.resolve("known_hosts"), "github.com " + TestKeys.publicLine(host) + "\n");
    Path conf = Files.writeString(dir.resolve("keymux.conf"), """
        keymux {
          policy.known-hosts = ["%s"]
          rules = [
            { name = ci-only, match { uid = 4242 }, action = deny }
            { name = git-to-github, match { client-exe = "/usr/bin/git", destination = "github.com" }, action = confirm, remember = 10m }
          ]
        }
        """.formatted(kh));
    Proc.Result r = keymux("policy", "explain", "--config", conf.toString(), "--key", "SHA256:abc", "--comment", "work",
        "--exe", "/usr/bin/git", "--host", "github.com", "--agent", dir.resolve("none.sock").toString());
    assertEquals(0, r.exitCode(), r.toString());
    assertTrue(r.stdout().contains("'ci-only' (rule #1, keymux.conf:4): not matched: client uid"), r.stdout());
    assertTrue(r.stdout().contains("'git-to-github' (rule #2, keymux.conf:5): matches"), r.stdout());
    assertTrue(r.stdout().contains("decision: confirm (a yes is remembered 10m)"), r.stdout());
    assertTrue(r.stdout().contains("host:     github.com (host key ssh-ed25519 " + TestKeys.fingerprint(host)), r.stdout());

    Proc.Result other = keymux("policy", "explain", "--config", conf.toString(), "--key", "SHA256:abc",
        "--exe", "/usr/bin/git", "--host", "gitlab.com", "--agent", dir.resolve("none.sock").toString());
    assertTrue(other.stdout().contains("gitlab.com is not in"), other.stdout());
    assertTrue(other.stdout().contains("decision: allow"), other.stdout());
  }

}
