package dev.keymux.core.mux;

import dev.keymux.core.agent.Health;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The answer to {@code list@keymux.dev}: every key with the backend holding it and its state
 * (uint32 n, then n × string key, string comment, string backend, string state), then every
 * backend's health (uint32 m, then m × string name, bool up, string detail). The one place that
 * writes and reads this format.
 */
public record KeyListing(List<Key> keys, List<BackendHealth> backends) {
  public record Key(KeyBlob key, String comment, String backend, String state) {}

  public record BackendHealth(String name, Health health) {}

  public KeyListing {
    keys = List.copyOf(keys);
    backends = List.copyOf(backends);
  }

  public byte[] encode() {
    SshWriter w = new SshWriter();
    w.writeUint32(keys.size());
    for (Key k : keys) {
      w.writeString(k.key().bytes()).writeString(k.comment()).writeString(k.backend()).writeString(k.state());
    }
    w.writeUint32(backends.size());
    for (BackendHealth b : backends) {
      w.writeString(b.name()).writeBoolean(b.health().up()).writeString(b.health().detail());
    }
    return w.toByteArray();
  }

  public static KeyListing decode(byte[] contents) throws ProtocolException {
    SshReader r = new SshReader(contents);
    List<Key> keys = new ArrayList<>();
    for (long i = 0, n = r.readUint32(); i < n; i++) {
      keys.add(new Key(new KeyBlob(r.readString()), r.readUtf8(), r.readUtf8(), r.readUtf8()));
    }
    List<BackendHealth> backends = new ArrayList<>();
    if (r.hasRemaining()) { // older keymux answered without the health section
      for (long i = 0, m = r.readUint32(); i < m; i++) {
        String name = r.readUtf8();
        boolean up = r.readBoolean();
        backends.add(new BackendHealth(name, new Health(up, r.readUtf8())));
      }
    }
    return new KeyListing(keys, backends);
  }
}
