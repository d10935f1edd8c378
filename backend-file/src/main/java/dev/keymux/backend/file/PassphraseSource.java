package dev.keymux.backend.file;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where passphrases for encrypted key files come from: an askpass program today, the desktop's
 * Secret Service later. Returned bytes belong to the caller, who wipes them.
 */
public interface PassphraseSource {
  /**
   * Asks for the passphrase of {@code keyFile}.
   *
   * @param attempt 1 for the first ask, 2 and up after a wrong passphrase
   * @return the passphrase, or empty when the user cancelled or nobody can be asked
   */
  Optional<byte[]> passphrase(Path keyFile, int attempt) throws InterruptedException;

  /** Told when a passphrase it gave was wrong, so a stored one can be forgotten. */
  default void rejected(Path keyFile) {}

  /** Told the passphrase that unlocked {@code keyFile} (still owned and wiped by the caller). */
  default void accepted(Path keyFile, byte[] passphrase) {}

  /** Why this source cannot ask at all, for the log; empty if it can. */
  default Optional<String> unavailableReason() {
    return Optional.empty();
  }
}
