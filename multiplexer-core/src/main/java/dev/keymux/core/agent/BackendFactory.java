package dev.keymux.core.agent;

import com.typesafe.config.Config;

/**
 * Creates backends of one {@link #type()} from their configuration block. Factories are
 * contributed by {@link BackendModule}s; creating a backend must not block on devices or
 * sockets — connect lazily, on first use.
 */
public interface BackendFactory {
  /** The value of {@code type = ...} in the configuration. */
  String type();

  /**
   * @param name the backend's name in the configuration
   * @param settings the backend's configuration block (including {@code type})
   * @throws IllegalArgumentException with a message naming the bad setting
   */
  Backend create(String name, Config settings);
}
