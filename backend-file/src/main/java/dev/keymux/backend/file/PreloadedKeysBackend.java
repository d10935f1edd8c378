package dev.keymux.backend.file;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Keys given to keymux at start ({@code KEYMUX_KEYS}, {@code --keys-from-stdin}): held in memory
 * for the daemon's life, listed in the order given, never added to or removed by clients (so
 * {@code ssh-add -D} in a CI job does not drop the deploy keys), wiped on close.
 */
public final class PreloadedKeysBackend implements Backend.ListsFromMemory {
  private final String name;
  private final Map<KeyBlob, PreloadedKeys.Key> keys = new LinkedHashMap<>();

  public PreloadedKeysBackend(String name, List<PreloadedKeys.Key> keys) {
    this.name = name;
    for (PreloadedKeys.Key k : keys) {
      PreloadedKeys.Key previous = this.keys.putIfAbsent(new KeyBlob(k.key().publicBlob()), k);
      if (previous != null) {
        k.key().close(); // the same key twice: the first one's comment and repository count
      }
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public synchronized List<Identity> list(Session session) {
    List<Identity> out = new ArrayList<>(keys.size());
    keys.forEach((blob, k) -> out.add(new Identity(blob, k.comment(), name)));
    return out;
  }

  @Override
  public Optional<byte[]> signAtOnce(Session session, KeyBlob blob, byte[] data, int flags) throws AgentException {
    return Optional.of(sign(session, blob, data, flags));
  }

  @Override
  public byte[] sign(Session session, KeyBlob blob, byte[] data, int flags) throws AgentException {
    PreloadedKeys.Key k;
    synchronized (this) {
      k = keys.get(blob);
    }
    if (k == null) {
      throw AgentException.failed("key not held by " + name);
    }
    try {
      return k.key().sign(data, flags); // side by side: a key signs without state
    } catch (RuntimeException e) {
      throw AgentException.failed("signing with " + blob.type() + " key failed: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized void close() {
    keys.values().forEach(k -> k.key().close());
    keys.clear();
  }
}
