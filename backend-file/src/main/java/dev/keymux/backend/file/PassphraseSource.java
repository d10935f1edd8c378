package dev.keymux.backend.file;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where passphrases for encrypted key files come from: the user at a prompt (keymux.prompt), the
 * desktop's Secret Service. Returned bytes belong to the caller, who wipes them. {@code clientPid}
 * is the process whose signature needs the key (-1 when unknown): a terminal prompt appears on
 * its terminal.
 */
public interface PassphraseSource {
  /**
   * Asks for the passphrase of {@code keyFile}.
   *
   * @param attempt 1 for the first ask, 2 and up after a wrong passphrase
   * @return the passphrase, or empty when the user cancelled or nobody can be asked
   */
  Optional<byte[]> passphrase(Path keyFile, int attempt, long clientPid) throws InterruptedException;

  /** Told when a passphrase it gave was wrong, so a stored one can be forgotten. */
  default void rejected(Path keyFile) {}

  /** Told the passphrase that unlocked {@code keyFile} (still owned and wiped by the caller). */
  default void accepted(Path keyFile, byte[] passphrase, long clientPid) {}

  /** Why this source cannot ask at all, for the log; empty if it can. */
  default Optional<String> unavailableReason(long clientPid) {
    return Optional.empty();
  }
}
