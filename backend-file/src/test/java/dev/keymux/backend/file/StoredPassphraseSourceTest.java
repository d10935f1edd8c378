package dev.keymux.backend.file;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.Session;
import dev.keymux.core.prompt.Prompts;
import dev.keymux.core.prompt.SecretStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The order of passphrase sources and when to offer remembering; the store is a map here (unit test of this class). */
class StoredPassphraseSourceTest {
  @TempDir Path dir;

  static final class MapStore implements SecretStore {
    final Map<Map<String, String>, byte[]> items = new HashMap<>();
    boolean up = true;
    int stores;

    @Override
    public Optional<byte[]> find(Map<String, String> attributes) {
      return up ? Optional.ofNullable(items.get(attributes)).map(byte[]::clone) : Optional.empty();
    }

    @Override
    public boolean reachable() {
      return up;
    }

    @Override
    public boolean store(String label, Map<String, String> attributes, byte[] secret) {
      stores++;
      items.put(attributes, secret.clone());
      return true;
    }
  }

  private StoredPassphraseSource source(MapStore store, String typed, String remember, Path confirmLog) {
    Map<String, String> env = dev.keymux.testing.Askpass.env(dev.keymux.testing.Askpass.answering(dir.resolve("typed"), typed));
    Map<String, String> confirmEnv = dev.keymux.testing.Askpass.env(
        dev.keymux.testing.Askpass.recording(dir.resolve("confirm"), "", confirmLog));
    return new StoredPassphraseSource(store, new PromptedPassphraseSource(Prompts.askpassOnly(env, Duration.ofSeconds(5))),
        remember, Prompts.askpassOnly(confirmEnv, Duration.ofSeconds(5)));
  }

  @Test
  void aStoredPassphraseComesFirstAndAStaleOneFallsBackToTyping() throws Exception {
    MapStore store = new MapStore();
    Path key = dir.resolve("id");
    store.items.put(StoredPassphraseSource.attributes(key), "stored".getBytes());
    StoredPassphraseSource s = source(store, "typed", "never", dir.resolve("c.log"));
    assertEquals("stored", new String(s.passphrase(key, 1, Session.local()).orElseThrow()));
    s.rejected(key);
    assertEquals("typed", new String(s.passphrase(key, 2, Session.local()).orElseThrow()));
  }

  @Test
  void askOffersToRememberOnceAndOnlyWhenTheStoreIsThere() throws Exception {
    MapStore store = new MapStore();
    Path key = dir.resolve("id");
    Path log = dir.resolve("confirm.log");
    store.up = false;
    StoredPassphraseSource s = source(store, "typed", "ask", log);
    byte[] p = s.passphrase(key, 1, Session.local()).orElseThrow();
    s.accepted(key, p, Session.local());
    assertFalse(Files.exists(log), "no store, no question");

    store.up = true;
    p = s.passphrase(key, 1, Session.local()).orElseThrow();
    s.accepted(key, p, Session.local());
    assertTrue(Files.readString(log).contains("Remember the passphrase of " + key), Files.readString(log));
    assertEquals(1, store.stores, "the recording askpass answers yes");
    assertEquals("typed", new String(s.passphrase(key, 1, Session.local()).orElseThrow()), "now it comes from the store");
  }
}
