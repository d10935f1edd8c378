package dev.keymux.backend.file;

import dev.keymux.core.agent.Session;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where passphrases for encrypted key files come from: the user at a prompt (keymux.prompt), the
 * desktop's Secret Service. Returned bytes belong to the caller, who wipes them. {@code session}
 * is the connection whose signature needs the key: the prompt layer decides from it whether its
 * client's terminal may be asked on.
 */
public interface PassphraseSource {
  /**
   * Asks for the passphrase of {@code keyFile}.
   *
   * @param attempt 1 for the first ask, 2 and up after a wrong passphrase
   * @return the passphrase, or empty when the user cancelled or nobody can be asked
   */
  Optional<byte[]> passphrase(Path keyFile, int attempt, Session session) throws InterruptedException;

  /** Told when a passphrase it gave was wrong, so a stored one can be forgotten. */
  default void rejected(Path keyFile) {}

  /** Told the passphrase that unlocked {@code keyFile} (still owned and wiped by the caller). */
  default void accepted(Path keyFile, byte[] passphrase, Session session) {}

  /** Why this source cannot ask at all, for the log; empty if it can. */
  default Optional<String> unavailableReason(Session session) {
    return Optional.empty();
  }
}
