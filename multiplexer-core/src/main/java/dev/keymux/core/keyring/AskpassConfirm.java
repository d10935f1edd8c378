package dev.keymux.core.keyring;

import dev.keymux.core.prompt.Askpass;
import java.time.Duration;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Confirmation through an askpass program, as OpenSSH's ssh-agent does for {@code ssh-add -c}
 * keys ({@code ask_permission} in readpass.c): the question as argument and
 * {@code SSH_ASKPASS_PROMPT=confirm}; yes is exit status 0 with an empty answer or "yes". No
 * askpass allowed or runnable, any other answer, a non-zero exit or no answer within the
 * timeout all mean no.
 */
public final class AskpassConfirm implements ConfirmPrompt {
  private static final Logger log = LoggerFactory.getLogger(AskpassConfirm.class);

  private final Askpass askpass;

  public AskpassConfirm(Map<String, String> env, Duration timeout) {
    this.askpass = new Askpass(env, timeout);
  }

  @Override
  public boolean confirm(String question) {
    if (askpass.program().isEmpty()) {
      log.warn("key use needs confirmation but no askpass program can run ({}); refused", askpass.describeProgram());
      return false;
    }
    try {
      return askpass.confirm(question);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
