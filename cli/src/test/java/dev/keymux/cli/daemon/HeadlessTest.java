package dev.keymux.cli.daemon;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HeadlessTest {
  @Test
  void patternsNameTheHostAndThePathWithAndWithoutDotGit() {
    assertEquals(List.of(
        "*github.com*git-upload-pack 'org/repo'", "*github.com*git-upload-pack 'org/repo.git'",
        "*github.com*git-receive-pack 'org/repo'", "*github.com*git-receive-pack 'org/repo.git'",
        "*github.com*git-upload-archive 'org/repo'", "*github.com*git-upload-archive 'org/repo.git'"),
        Headless.cmdlinePatterns("git@github.com:org/repo.git"));
    assertEquals("*127.0.0.1*git-upload-pack '/srv/a'", Headless.cmdlinePatterns("ssh://git@127.0.0.1:2222/srv/a").get(0));
    assertEquals("*::1*git-upload-pack '/srv/a'", Headless.cmdlinePatterns("ssh://[::1]:2222/srv/a").get(0));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Headless.cmdlinePatterns("org/repo"));
    assertTrue(e.getMessage().contains("is not a git ssh URL"), e.getMessage());
  }

  @Test
  void theEnvironmentKeepsNoDesktopNoKeysAndForbidsPrompts() {
    Map<String, String> env = Headless.environment(Map.of("HOME", "/h", "DISPLAY", ":0", "WAYLAND_DISPLAY", "w",
        "DBUS_SESSION_BUS_ADDRESS", "unix:path=/b", "XDG_RUNTIME_DIR", "/run/user/1", "SSH_ASKPASS", "/x",
        "KEYMUX_KEYS", "-----BEGIN"));
    assertEquals(Map.of("HOME", "/h", "SSH_ASKPASS_REQUIRE", "never"), env);
  }
}
