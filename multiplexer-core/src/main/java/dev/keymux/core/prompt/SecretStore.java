package dev.keymux.core.prompt;

import java.util.Map;
import java.util.Optional;

/**
 * The user's secret store (on Linux desktops the Secret Service: GNOME Keyring, KWallet).
 * Optional: headless machines have none, and every caller falls back to asking. Returned
 * secrets belong to the caller, who wipes them.
 */
public interface SecretStore {
  /** The secret stored under exactly these attributes, if the store is reachable and unlocked. */
  Optional<byte[]> find(Map<String, String> attributes);

  /** True when the store answers now (so offering to remember something makes sense). */
  boolean reachable();

  /** Stores a secret; false when the store is unavailable or refused. */
  boolean store(String label, Map<String, String> attributes, byte[] secret);
}
