package dev.keymux.backend.file;

import dev.keymux.core.prompt.Askpass;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/** Passphrases through the askpass program, with OpenSSH's ssh-add prompts. */
public final class AskpassPassphraseSource implements PassphraseSource {
  private final Askpass askpass;

  public AskpassPassphraseSource(Map<String, String> env, Duration timeout) {
    this.askpass = new Askpass(env, timeout);
  }

  @Override
  public Optional<byte[]> passphrase(Path keyFile, int attempt) throws InterruptedException {
    String prompt = attempt == 1 ? "Enter passphrase for " + keyFile + ": " : "Bad passphrase, try again for " + keyFile + ": ";
    return askpass.ask(prompt, null);
  }

  @Override
  public Optional<String> unavailableReason() {
    return askpass.program().isPresent() ? Optional.empty() : Optional.of("no askpass program can run (" + askpass.describeProgram() + ")");
  }
}
