package dev.keymux.core.agent;

/** A key source behind keymux: an {@link Agent} with a name, a health state and a lifecycle. */
public interface Backend extends Agent, AutoCloseable {
  /** The name given in the configuration (e.g. "added", "yubikey"). */
  String name();

  default Health health() {
    return Health.ok();
  }

  /** A short state of one of this backend's keys for `keymux list` ("locked", "unlocked, locks in 7h59m"); "" if none. */
  default String keyState(KeyBlob key) {
    return "";
  }

  /**
   * Loop protection: true when this backend reaches a keymux whose instance id is in
   * {@code visited} (see {@link Instance}). Only backends that talk to other agents override it.
   */
  default boolean leadsBackTo(java.util.List<String> visited) {
    return false;
  }

  /** Called when keymux is locked: drop any decrypted key material that can be re-obtained. */
  default void onLock() {}

  @Override
  default void close() {}
}
