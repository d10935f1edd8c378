package dev.keymux.backend.file;

import dev.keymux.core.agent.Session;
import dev.keymux.core.prompt.Prompter;
import java.nio.file.Path;
import java.util.Optional;

/** Passphrases typed by the user at a prompt (keymux.prompt), with OpenSSH's ssh-add wording. */
public final class PromptedPassphraseSource implements PassphraseSource {
  private final Prompter prompter;

  public PromptedPassphraseSource(Prompter prompter) {
    this.prompter = prompter;
  }

  @Override
  public Optional<byte[]> passphrase(Path keyFile, int attempt, Session session) throws InterruptedException {
    String prompt = attempt == 1 ? "Enter passphrase for " + keyFile + ": " : "Bad passphrase, try again for " + keyFile + ": ";
    return prompter.secret(session, prompt, "Passphrase:");
  }

  @Override
  public Optional<String> unavailableReason(Session session) {
    return prompter.unavailable(session);
  }
}
