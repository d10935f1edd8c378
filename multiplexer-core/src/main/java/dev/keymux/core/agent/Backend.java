package dev.keymux.core.agent;

import java.util.List;
import java.util.Optional;

/** A key source behind keymux: an {@link Agent} with a name, a health state and a lifecycle. */
public interface Backend extends Agent, AutoCloseable {
  /** The name given in the configuration (e.g. "added", "yubikey"). */
  String name();

  default Health health() {
    return Health.ok();
  }

  /**
   * The keys, when this backend can tell them without waiting: from memory, with no I/O that can
   * block and no prompt. Empty means "ask {@link #list}", which the multiplexer runs on a pool
   * thread under the backend timeout. This one it runs on the request's own thread: a hand-off
   * costs two thread wake-ups, most of a request's latency on a small machine.
   */
  default Optional<List<Identity>> listAtOnce(Session session) throws AgentException {
    return Optional.empty();
  }

  /**
   * A signature made without waiting (the key in memory, no confirmation, PIN, passphrase or
   * helper process), or empty when only {@link #sign} can make it. Same rules as
   * {@link #listAtOnce}; a refusal is thrown as {@link #sign} would throw it.
   */
  default Optional<byte[]> signAtOnce(Session session, KeyBlob key, byte[] data, int flags)
      throws AgentException {
    return Optional.empty();
  }

  /**
   * A backend whose key list lives in memory (keys added with ssh-add or given at start, key files
   * whose public halves were read when scanned): its {@link #list} is its {@link #listAtOnce}.
   */
  interface ListsFromMemory extends Backend {
    @Override
    default Optional<List<Identity>> listAtOnce(Session session) throws AgentException {
      return Optional.of(list(session));
    }
  }

  /** A short state of one of this backend's keys for `keymux list` ("locked", "unlocked, locks in 7h59m"); "" if none. */
  default String keyState(KeyBlob key) {
    return "";
  }

  /**
   * Loop protection: true when this backend reaches a keymux whose instance id is in
   * {@code visited} (see {@link Instance}). Only backends that talk to other agents override it.
   */
  default boolean leadsBackTo(List<String> visited) {
    return false;
  }

  /** Called when keymux is locked: drop any decrypted key material that can be re-obtained. */
  default void onLock() {}

  @Override
  default void close() {}
}
