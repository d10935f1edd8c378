package dev.keymux.core.agent;

import java.util.Objects;

/**
 * One key an agent offers: its blob, its comment, and the backend that holds it (empty when
 * the identity came off the wire, where the backend is unknown).
 */
public record Identity(KeyBlob key, String comment, String backend) {
  public Identity {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(comment, "comment");
    Objects.requireNonNull(backend, "backend");
  }

  public Identity withBackend(String name) {
    return new Identity(key, comment, name);
  }
}
