package dev.keymux.core.agent;

import java.util.UUID;

/**
 * This keymux process's identity for loop protection: an upstream agent that is keymux itself,
 * directly or through other keymux instances, answers the chain query with this id.
 */
public final class Instance {
  private Instance() {}

  /** Random per process; never derived from anything secret. */
  public static final String ID = UUID.randomUUID().toString();
}
