package dev.keymux.backend.file;

import dev.keymux.core.agent.Session;
import dev.keymux.core.prompt.ConfirmPrompt;
import dev.keymux.core.prompt.SecretStore;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passphrases from the desktop's secret store first — under gnome-keyring's own attributes, so
 * passphrases GNOME already saved for SSH keys work — then from the fallback (a prompt). A
 * passphrase typed into the fallback can be remembered in the store afterwards.
 */
final class StoredPassphraseSource implements PassphraseSource {
  private static final Logger log = LoggerFactory.getLogger(StoredPassphraseSource.class);

  private final SecretStore store;
  private final PassphraseSource fallback;
  private final String remember; // ask | always | never
  private final ConfirmPrompt confirm;
  private final Set<Path> storedWasWrong = ConcurrentHashMap.newKeySet();
  private final Set<Path> typed = ConcurrentHashMap.newKeySet();
  private final Set<Path> declined = ConcurrentHashMap.newKeySet();

  StoredPassphraseSource(SecretStore store, PassphraseSource fallback, String remember, ConfirmPrompt confirm) {
    this.store = store;
    this.fallback = fallback;
    this.remember = remember;
    this.confirm = confirm;
  }

  static Map<String, String> attributes(Path keyFile) {
    return Map.of("unique", "ssh-store:" + keyFile.toAbsolutePath());
  }

  @Override
  public Optional<byte[]> passphrase(Path keyFile, int attempt, Session session) throws InterruptedException {
    if (!storedWasWrong.contains(keyFile)) {
      Optional<byte[]> stored = store.find(attributes(keyFile));
      if (stored.isPresent()) {
        typed.remove(keyFile);
        log.info("passphrase for {} taken from the Secret Service", keyFile);
        return stored;
      }
    }
    typed.add(keyFile);
    fallback.unavailableReason(session).ifPresent(why ->
        log.warn("{} needs its passphrase: it is not in the Secret Service, and {}", keyFile, why));
    return fallback.passphrase(keyFile, attempt, session);
  }

  @Override
  public void rejected(Path keyFile) {
    if (!typed.contains(keyFile)) {
      storedWasWrong.add(keyFile); // a stale stored passphrase: ask the user instead
    }
    fallback.rejected(keyFile);
  }

  @Override
  public void accepted(Path keyFile, byte[] passphrase, Session session) {
    if (!typed.remove(keyFile) || remember.equals("never") || declined.contains(keyFile) || !store.reachable()) {
      return; // nothing typed, not wanted, already declined, or nowhere to keep it
    }
    storedWasWrong.remove(keyFile);
    boolean yes = remember.equals("always");
    if (!yes) {
      yes = confirm.confirm(session, "Remember the passphrase of " + keyFile + " in your keyring?");
    }
    if (!yes) {
      declined.add(keyFile); // asked once per keymux run, not at every unlock
      return;
    }
    if (store.store("Unlock password for: " + keyFile.getFileName(), attributes(keyFile), passphrase.clone())) {
      log.info("remembered the passphrase of {} in the Secret Service", keyFile);
    }
  }

  @Override
  public Optional<String> unavailableReason(Session session) {
    return Optional.empty(); // the store may answer even when nobody can be asked
  }
}
