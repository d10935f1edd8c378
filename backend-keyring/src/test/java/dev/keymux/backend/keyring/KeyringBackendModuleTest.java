package dev.keymux.backend.keyring;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigFactory;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.testing.Proc;
import dev.keymux.testing.SshAgentAt;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Finding GNOME's agent: real ssh-agents bound where gcr-ssh-agent ({@code $XDG_RUNTIME_DIR/gcr/ssh})
 * and gnome-keyring <= 42 ({@code $XDG_RUNTIME_DIR/keyring/ssh}) listen.
 */
class KeyringBackendModuleTest {
  static final Duration T = Duration.ofSeconds(30);
  @TempDir Path dir;
  final List<SshAgentAt> agents = new ArrayList<>();

  @AfterEach
  void stopAgents() throws Exception {
    for (SshAgentAt a : agents) {
      a.close();
    }
  }

  /** A real ssh-agent listening at {@code socket} and holding one new key with {@code comment}. */
  private Path agentAt(Path socket, String comment) throws Exception {
    agents.add(SshAgentAt.start(socket));
    Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), comment.replace(' ', '_'), "ed25519", comment);
    Proc.run(T, Map.of("SSH_AUTH_SOCK", socket.toString()), "/usr/bin/ssh-add", key.toString()).assertOk();
    return socket;
  }

  private Backend gnomeBackend(Map<String, String> env) {
    return new KeyringBackendModule.Factory(new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), env))
        .create("gnome", ConfigFactory.parseString("type = keyring"));
  }

  private static List<String> comments(Backend b) throws Exception {
    try (Session s = Session.local()) {
      return b.list(s).stream().map(Identity::comment).toList();
    }
  }

  @Test
  void gnomeKeyringsOwnSocketIsFound() throws Exception {
    Path run = Files.createDirectories(dir.resolve("run"));
    Path keyring = agentAt(run.resolve("keyring/ssh"), "in gnome-keyring");
    Map<String, String> env = Map.of("XDG_RUNTIME_DIR", run.toString());
    assertEquals(Optional.of(keyring), KeyringBackendModule.gnomeSocket(env).get());
    Backend b = gnomeBackend(env);
    assertEquals(List.of("in gnome-keyring"), comments(b));
    assertEquals("ok", b.health().detail());
  }

  @Test
  void gcrSshAgentIsPreferredWhenBothListen() throws Exception {
    Path run = Files.createDirectories(dir.resolve("run"));
    agentAt(run.resolve("keyring/ssh"), "in gnome-keyring");
    Path gcr = agentAt(run.resolve("gcr/ssh"), "in gcr");
    Map<String, String> env = Map.of("XDG_RUNTIME_DIR", run.toString());
    assertEquals(Optional.of(gcr), KeyringBackendModule.gnomeSocket(env).get());
    assertEquals(List.of("in gcr"), comments(gnomeBackend(env)));
  }

  @Test
  void withoutGnomeTheBackendIsQuietlyEmpty() throws Exception {
    Path run = Files.createDirectories(dir.resolve("run"));
    for (Map<String, String> env : List.of(Map.of("XDG_RUNTIME_DIR", run.toString()), Map.<String, String>of())) {
      assertEquals(Optional.empty(), KeyringBackendModule.gnomeSocket(env).get());
      Backend b = gnomeBackend(env);
      assertEquals(List.of(), comments(b));
      assertTrue(b.health().up(), "no GNOME is not an error");
      assertEquals(KeyringBackendModule.NOT_RUNNING, b.health().detail());
    }
    // GNOME starts after keymux: found at the next client connection.
    Map<String, String> env = Map.of("XDG_RUNTIME_DIR", run.toString());
    Backend b = gnomeBackend(env);
    assertEquals(List.of(), comments(b));
    agentAt(run.resolve("keyring/ssh"), "late");
    assertEquals(List.of("late"), comments(b));
    assertEquals("ok", b.health().detail());
  }

  @Test
  void timeoutsComeFromTheKeyringBlock() {
    Map<String, String> env = Map.of();
    assertThrows(IllegalArgumentException.class, () -> new KeyringBackendModule.Factory(
        new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), env)).create("g", ConfigFactory.parseString("backoff = 5s, max-backoff = 1s")));
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> new KeyringBackendModule.Factory(
        new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), env)).create("g", ConfigFactory.parseString("retry = 5s")));
    assertTrue(unknown.getMessage().contains("connect-timeout") && unknown.getMessage().contains("max-backoff"), unknown.getMessage());
    assertNotNull(new KeyringBackendModule.Factory(new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), env))
        .create("g", ConfigFactory.parseString("connect-timeout = 1s, backoff = 2s, max-backoff = 10s")));
  }
}
