package dev.keymux.config;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.prompt.PromptMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir Path home;

  private Map<String, String> env(String... kv) {
    java.util.HashMap<String, String> m = new java.util.HashMap<>();
    m.put("HOME", home.toString());
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  private Path file(String name, String text) throws Exception {
    Path f = home.resolve(name);
    Files.createDirectories(f.getParent());
    Files.writeString(f, text);
    return f;
  }

  private KeymuxConfigException failure(Path f) {
    return assertThrows(KeymuxConfigException.class, () -> ConfigLoader.load(Optional.of(f), env(), 1000));
  }

  @Test
  void theEmbeddedDefaultsAloneMakeAWorkingConfiguration() {
    KeymuxSettings s = ConfigLoader.load(Optional.empty(), env("XDG_RUNTIME_DIR", "/run/user/1000"), 1000);
    assertEquals(Path.of("/run/user/1000/keymux/agent.sock"), s.socketPath());
    assertFalse(s.socketPathIsFallback());
    assertTrue(s.socketPathIsDefault());
    assertEquals(64, s.maxConnections());
    assertEquals(Duration.ofSeconds(2), s.backendTimeout());
    assertEquals(Duration.ZERO, s.defaultKeyLifetime());
    assertEquals("sha256", s.fingerprintHash());
    assertEquals(List.of("/usr/lib*/*", "/usr/local/lib*/*"), s.pkcs11AllowedModules());
    assertEquals(List.of("added", "tokens", "files", "gnome"), s.backends().stream().map(KeymuxSettings.BackendSettings::name).toList());
    assertEquals("memory", s.backends().get(0).type());
    assertEquals("pkcs11-added", s.backends().get(1).type());
    assertEquals("file", s.backends().get(2).type());
    assertEquals(PromptMode.AUTO, s.prompt());
    assertFalse(s.notifyOnSign());
  }

  @Test
  void promptTakesItsFiveValuesInAnyCaseAndNamesThemWhenWrong() throws Exception {
    for (PromptMode m : PromptMode.values()) {
      Path f = file(m.value() + ".conf", "keymux.prompt = " + m.value().toUpperCase() + "\nkeymux.notify = true\n");
      KeymuxSettings s = ConfigLoader.load(Optional.of(f), env(), 1000);
      assertEquals(m, s.prompt());
      assertTrue(s.notifyOnSign());
    }
    KeymuxConfigException e = failure(file("bad.conf", "keymux {\n  prompt = gui\n}\n"));
    assertTrue(e.getMessage().contains("bad.conf: 2"), e.getMessage());
    assertTrue(e.getMessage().contains("keymux.prompt") && e.getMessage().contains("must be one of auto, askpass, pinentry, tty, none, not 'gui'"),
        e.getMessage());
  }

  @Test
  void headlessAutoPromptsNobodyButAnExplicitChoiceStands() throws Exception {
    assertEquals(PromptMode.NONE,
        ConfigLoader.load(Optional.of(file("h.conf", "keymux.headless = true\n")), env(), 1000).prompt());
    assertEquals(PromptMode.TTY, ConfigLoader.load(
        Optional.of(file("ht.conf", "keymux.headless = true\nkeymux.prompt = tty\n")), env(), 1000).prompt());
  }

  @Test
  void withoutXdgRuntimeDirTheSocketGoesToAPrivateTmpDirectory() {
    KeymuxSettings s = ConfigLoader.load(Optional.empty(), env(), 1234);
    assertEquals(Path.of("/tmp/keymux-1234/agent.sock"), s.socketPath());
    assertTrue(s.socketPathIsFallback());
  }

  @Test
  void aUserFileOverridesWhatItNames() throws Exception {
    Path f = file("k.conf", "keymux {\n socket.path = \"~/agent.sock\"\n keys.default-lifetime = 90m\n"
        + " socket.allowed-uids = [1001]\n backends { other { type = memory } }\n backend-order = [other, added]\n}\n");
    KeymuxSettings s = ConfigLoader.load(Optional.of(f), env(), 1000);
    assertEquals(home.resolve("agent.sock"), s.socketPath());
    assertFalse(s.socketPathIsDefault());
    assertEquals(Duration.ofMinutes(90), s.defaultKeyLifetime());
    assertEquals(Set.of(1001), s.allowedUids());
    assertEquals(List.of("other", "added", "files", "gnome", "tokens"), s.backends().stream().map(KeymuxSettings.BackendSettings::name).toList());
    assertEquals(64, s.maxConnections(), "unnamed settings keep their defaults");
  }

  @Test
  void theXdgConfigHomeFileIsFoundWithoutAFlag() throws Exception {
    file("cfg/keymux/keymux.conf", "keymux.socket.max-connections = 3\n");
    KeymuxSettings s = ConfigLoader.load(Optional.empty(), env("XDG_CONFIG_HOME", home.resolve("cfg").toString()), 1000);
    assertEquals(3, s.maxConnections());
    file(".config/keymux/keymux.conf", "keymux.socket.max-connections = 4\n");
    assertEquals(4, ConfigLoader.load(Optional.empty(), env(), 1000).maxConnections(), "~/.config is the default");
  }

  @Test
  void environmentVariablesCanBeUsed() throws Exception {
    Path f = file("k.conf", "keymux.socket.path = ${?HOME}\"/x.sock\"\n");
    // ${?HOME} resolves from the process environment, as Typesafe Config does.
    KeymuxSettings s = ConfigLoader.load(Optional.of(f), env(), 1000);
    assertEquals(Path.of(System.getenv("HOME"), "x.sock"), s.socketPath());
  }

  @Test
  void anExplicitFileThatDoesNotExistIsAnError() {
    KeymuxConfigException e = failure(home.resolve("missing.conf"));
    assertTrue(e.getMessage().contains("missing.conf") && e.getMessage().contains("does not exist"), e.getMessage());
  }

  @Test
  void aSyntaxErrorNamesTheFileAndLine() throws Exception {
    Path f = file("bad.conf", "keymux {\n  socket {\n    path = \"unterminated\n  }\n}\n");
    KeymuxConfigException e = failure(f);
    assertTrue(e.getMessage().contains("bad.conf") && e.getMessage().contains(": 3"), e.getMessage());
  }

  @Test
  void anUnknownKeyIsAnErrorWithASuggestion() throws Exception {
    Path f = file("typo.conf", "# comment\nkeymux {\n  sokcet.path = \"/x\"\n}\n");
    KeymuxConfigException e = failure(f);
    assertTrue(e.getMessage().contains("typo.conf: 3"), e.getMessage());
    assertTrue(e.getMessage().contains("unknown setting keymux.sokcet.path"), e.getMessage());
    assertTrue(e.getMessage().contains("did you mean keymux.socket.path?"), e.getMessage());
  }

  @Test
  void aTopLevelKeyThatLooksLikeAMisspeltKeymuxIsAnErrorOthersAreSubstitutionHelpers() throws Exception {
    Path f = file("top.conf", "# typo\nkeymx {\n  socket.path = \"/x\"\n}\nkeymx2 {}\n");
    KeymuxConfigException e = failure(f);
    assertTrue(e.getMessage().contains("top.conf: 2: unknown setting keymx — did you mean keymux?"), e.getMessage());
    assertTrue(e.getMessage().contains("top.conf: 5: unknown setting keymx2 — did you mean keymux?"), e.getMessage());
    assertEquals(2, e.problems().size(), e.getMessage());
    Path empty = file("empty.conf", "keymx {}\n");
    assertTrue(failure(empty).getMessage().contains("empty.conf: 1: unknown setting keymx"));

    // Any other top-level key is a value named for substitution, as HOCON intends.
    Path helpers = file("helpers.conf", "trusted = [\"/usr/bin/ssh\", \"/usr/bin/git\"]\n"
        + "keymux.rules = [ { match { client-exe = ${trusted} } } ]\n");
    assertEquals(List.of("/usr/bin/ssh", "/usr/bin/git"), ConfigLoader.load(Optional.of(helpers), env(), 1000)
        .policy().rules().get(0).match().clientExes());
    Path unrelated = file("other.conf", "editor = vim\n");
    assertNotNull(ConfigLoader.load(Optional.of(unrelated), env(), 1000), "a name nothing like keymux is a helper value");
  }

  @Test
  void anEmptyKnownBlockIsFineAnEmptyUnknownOneIsNot() throws Exception {
    Path empty = file("starter.conf", "# nothing set yet\nkeymux {\n  # idle-exit = 30m\n  policy { }\n}\n");
    assertEquals(Duration.ZERO, ConfigLoader.load(Optional.of(empty), env(), 1000).idleExit());
    Path typo = file("typo-block.conf", "keymux {\n  polcy { }\n}\n");
    assertTrue(failure(typo).getMessage().contains("unknown setting keymux.polcy"), "an empty block is still checked");
  }

  @Test
  void idleExitIsADuration() throws Exception {
    Path f = file("idle.conf", "keymux.idle-exit = 90s\n");
    assertEquals(Duration.ofSeconds(90), ConfigLoader.load(Optional.of(f), env(), 1000).idleExit());
    assertTrue(failure(file("idle-bad.conf", "keymux.idle-exit = soon\n")).getMessage().contains("idle-exit"));
  }

  @Test
  void unknownKeysAndBadValuesAreReportedInOneGo() throws Exception {
    Path f = file("both.conf", "keymux {\n  sokcet.path = \"/x\"\n  socket.max-connections = lots\n}\n");
    KeymuxConfigException e = failure(f);
    assertEquals(2, e.problems().size(), e.getMessage());
    assertTrue(e.getMessage().contains("sokcet") && e.getMessage().contains("max-connections"), e.getMessage());
  }

  @Test
  void aWrongTypeNamesTheKeyAndLine() throws Exception {
    Path f = file("type.conf", "keymux {\n\n  socket.max-connections = lots\n}\n");
    KeymuxConfigException e = failure(f);
    assertTrue(e.getMessage().contains("type.conf: 3"), e.getMessage());
    assertTrue(e.getMessage().contains("max-connections"), e.getMessage());
  }

  @Test
  void badValuesAreAllReportedTogether() throws Exception {
    Path f = file("many.conf", "keymux {\n socket.max-connections = 0\n backend-timeout = -1s\n fingerprint-hash = sha1\n"
        + " backends { broken { comment = no-type } }\n backend-order = [added, ghost]\n}\n");
    KeymuxConfigException e = failure(f);
    String m = e.getMessage();
    assertTrue(m.contains("max-connections") && m.contains("at least 1"), m);
    assertTrue(m.contains("backend-timeout"), m);
    assertTrue(m.contains("sha256 or md5"), m);
    assertTrue(m.contains("keymux.backends.broken has no type"), m);
    assertTrue(m.contains("'ghost'"), m);
    assertEquals(5, e.problems().size(), m);
  }

  @Test
  void aDefaultBackendCanBeTurnedOffWithNull() throws Exception {
    Path f = file("off.conf", "keymux.backends.files = null\n");
    KeymuxSettings s = ConfigLoader.load(Optional.of(f), env(), 1000);
    assertEquals(List.of("added", "tokens", "gnome"), s.backends().stream().map(KeymuxSettings.BackendSettings::name).toList());
  }

  @Test
  void backendSettingsAreLeftToTheBackend() throws Exception {
    Path f = file("b.conf", "keymux.backends.files { type = file, paths = [\"~/.ssh/id_*\"], unlock-for = 8h }\n");
    KeymuxSettings s = ConfigLoader.load(Optional.of(f), env(), 1000);
    KeymuxSettings.BackendSettings b = s.backends().stream().filter(x -> x.name().equals("files")).findFirst().orElseThrow();
    assertEquals("file", b.type());
    assertEquals(List.of("~/.ssh/id_*"), b.settings().getStringList("paths"));
  }
}
