package dev.keymux.config.policy;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.config.ConfigLoader;
import dev.keymux.config.KeymuxConfigException;
import dev.keymux.config.KeymuxSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicySettingsTest {
  @TempDir Path home;

  private KeymuxSettings load(String text) throws Exception {
    Path f = home.resolve("keymux.conf");
    Files.writeString(f, text);
    return ConfigLoader.load(Optional.of(f), Map.of("HOME", home.toString(), "XDG_RUNTIME_DIR", "/run/user/1000"), 1000);
  }

  private List<String> problems(String text) throws Exception {
    return assertThrows(KeymuxConfigException.class, () -> load(text)).problems();
  }

  @Test
  void theEmbeddedDefaultsHaveNoRulesNoScopedSocketsAndAllow() throws Exception {
    PolicySettings p = load("").policy();
    assertEquals(List.of(), p.rules());
    assertEquals(List.of(), p.sockets());
    assertEquals(PolicyRule.Action.ALLOW, p.defaultAction());
    assertEquals(Path.of(home + "/.ssh/known_hosts"), p.knownHosts().get(0), "~ expanded");
  }

  @Test
  void aScopedSocketIsReadWithItsDefaults() throws Exception {
    KeymuxSettings s = load("""
        keymux.backends.deploy { type = memory }
        keymux.sockets.container { backends = [deploy], keys = ["deploy-*"], allow-uids = [0, 1000], group = "1000",
          mode = "0660", expires = 10m, confirm = true,
          rules = [ { match { client-name = git }, action = allow }, { action = deny } ] }
        """);
    SocketSettings c = s.policy().sockets().get(0);
    assertEquals("container", c.name());
    assertEquals(Path.of("/run/user/1000/keymux/container/agent.sock"), c.path(), "its own directory beside the main socket");
    assertEquals(0660, c.mode());
    assertEquals(Set.of(0, 1000), c.allowUids());
    assertEquals("1000", c.group());
    assertEquals(Duration.ofMinutes(10), c.expires());
    assertTrue(c.confirm());
    assertEquals(2, c.rules().size());
    assertTrue(c.rules().get(1).label().contains("container rule #2"), c.rules().get(1).label());
  }

  @Test
  void everyProblemIsReportedWithFileLineAndSetting() throws Exception {
    List<String> p = problems("""
        keymux {
          rules = [
            { match { destinaton = "github.com" } }
            { match { fingerprint = "abc", days = [mon, someday], hours = "9-5" }, action = alow }
            { prefer = [nope], remember = 5m }
            "not a rule"
            { match { socket = nosuch } }
          ]
          sockets.ci { modde = "0660" }
          sockets.main { backends = [added] }
          sockets.wide { backends = [added], mode = "0066" }
          sockets.half { backends = [added], mode = "0640" }
          policy.default-action = maybe
        }
        """);
    String all = String.join("\n", p);
    for (String expected : List.of(
        "keymux.conf: 3: keymux.rules[0].match.destinaton: unknown setting — did you mean destination?",
        "keymux.conf: 4: keymux.rules[1].match.fingerprint: 'abc' is not a fingerprint",
        "keymux.rules[1].match.days: 'someday' is not a day",
        "keymux.rules[1].match.hours: '9-5' is not a time range",
        "keymux.conf: 4: keymux.rules[1].action: must be allow, deny, hide or confirm, not 'alow'",
        "keymux.conf: 5: keymux.rules[2].prefer: names backend 'nope', which is not configured",
        "keymux.rules[2].remember: only means something with action = confirm",
        "keymux.conf: 6: keymux.rules[3]: must be an object",
        "names socket 'nosuch', which is not configured",
        "keymux.conf: 9: keymux.sockets.ci.modde: unknown setting — did you mean mode?",
        "keymux.sockets.ci.backends: a scoped socket must name the backends it offers",
        "keymux.sockets.main: 'main' is the name of the main socket",
        "must be octal permissions that include owner read/write",
        "'keymux.sockets.half.mode': '0640' gives read without write",
        "keymux.policy.default-action")) {
      assertTrue(all.contains(expected), "missing: " + expected + "\nin:\n" + all);
    }
  }

  @Test
  void twoSocketsCannotShareAPath() throws Exception {
    List<String> p = problems("""
        keymux.sockets.a { backends = [added], path = "/tmp/k/agent.sock" }
        keymux.sockets.b { backends = [added], path = "/tmp/k/agent.sock" }
        """);
    assertTrue(p.stream().anyMatch(s -> s.contains("is already used by another socket")), String.join("\n", p));
  }
}
