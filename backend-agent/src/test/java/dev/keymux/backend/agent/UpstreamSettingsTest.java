package dev.keymux.backend.agent;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UpstreamSettingsTest {
  final Path home = Path.of("/home/u");

  private UpstreamSettings parse(String hocon, Map<String, String> env) {
    return UpstreamSettings.from("up", ConfigFactory.parseString(hocon), home, env);
  }

  @Test
  void environmentVariablesAndHomeAreExpanded() {
    Map<String, String> env = Map.of("XDG_RUNTIME_DIR", "/run/user/7", "U", "me");
    assertEquals(Path.of("/run/user/7/gnupg/S.gpg-agent.ssh"), parse("socket = \"${XDG_RUNTIME_DIR}/gnupg/S.gpg-agent.ssh\"", env).socket());
    assertEquals(Path.of("/tmp/me.sock"), parse("socket = \"/tmp/$U.sock\"", env).socket());
    assertEquals(home.resolve(".1password/agent.sock"), parse("socket = \"~/.1password/agent.sock\"", env).socket());
    UpstreamSettings d = parse("socket = /x", env);
    assertEquals(Duration.ofSeconds(10), d.timeouts().request());
    assertEquals(Duration.ofSeconds(2), d.timeouts().connect());
  }

  @Test
  void mistakesAreNamed() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("socket = \"$NOPE/x\"", Map.of()))
        .getMessage().contains("$NOPE"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("type = agent", Map.of()))
        .getMessage().contains("socket is required"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("socket = /x, sokcet = /y", Map.of()))
        .getMessage().contains("[sokcet]"));
  }
}
