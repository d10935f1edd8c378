package dev.keymux.core.keyring;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.keymux.core.agent.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A `memory` backend block is checked like every other backend's: unknown keys are errors. */
class KeyringBackendModuleTest {
  @TempDir Path dir;

  private final KeyringBackendModule.Factory factory =
      new KeyringBackendModule.Factory(new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), Map.of()));

  private Config block(String text) throws Exception {
    Path f = dir.resolve("keymux.conf");
    Files.writeString(f, text);
    return ConfigFactory.parseFile(f.toFile()).resolve().getConfig("keymux.backends.added");
  }

  @Test
  void aMisspeltKeyInAMemoryBlockIsAnErrorNamingFileAndLine() throws Exception {
    Config b = block("# my keys\nkeymux.backends {\n  added { type = memory, lifetme = 1h }\n}\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> factory.create("added", b));
    assertTrue(e.getMessage().contains("backend added: unknown setting(s) [lifetme]"), e.getMessage());
    assertTrue(e.getMessage().contains(dir.resolve("keymux.conf") + ": 3: unknown setting keymux.backends.added.lifetme"),
        e.getMessage());
    assertTrue(e.getMessage().contains("(known: type)"), e.getMessage());
  }

  @Test
  void theClosestKnownKeyIsSuggested() throws Exception {
    Config b = block("keymux.backends.added {\n  type = memory\n  tpye = memory\n}\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> factory.create("added", b));
    assertTrue(e.getMessage().contains(": 3: unknown setting keymux.backends.added.tpye — did you mean type?"), e.getMessage());
  }

  @Test
  void aPlainMemoryBlockMakesAKeyring() throws Exception {
    try (Backend k = factory.create("added", block("keymux.backends.added { type = memory }\n"))) {
      assertEquals("added", k.name());
      assertTrue(k instanceof InMemoryKeyring);
    }
  }
}
