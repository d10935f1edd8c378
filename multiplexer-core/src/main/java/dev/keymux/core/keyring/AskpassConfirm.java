package dev.keymux.core.keyring;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Confirmation through an askpass program, as OpenSSH's ssh-agent does for {@code ssh-add -c}
 * keys: {@code $SSH_ASKPASS} (default {@code /usr/bin/ssh-askpass}) runs with the question as its
 * argument and {@code SSH_ASKPASS_PROMPT=confirm}; exit status 0 means yes. No runnable askpass,
 * a non-zero exit or no answer within the timeout all mean no.
 */
public final class AskpassConfirm implements ConfirmPrompt {
  private static final Logger log = LoggerFactory.getLogger(AskpassConfirm.class);
  static final String DEFAULT_ASKPASS = "/usr/bin/ssh-askpass";

  private final Map<String, String> env;
  private final Duration timeout;

  public AskpassConfirm(Map<String, String> env, Duration timeout) {
    this.env = Map.copyOf(env);
    this.timeout = timeout;
  }

  @Override
  public boolean confirm(String question) {
    String askpass = env.getOrDefault("SSH_ASKPASS", "");
    if (askpass.isEmpty()) {
      askpass = DEFAULT_ASKPASS;
    }
    if (!Files.isExecutable(Path.of(askpass))) {
      log.warn("key use needs confirmation but no askpass program can run ({} is not executable); refused", askpass);
      return false;
    }
    ProcessBuilder pb = new ProcessBuilder(askpass, question);
    pb.environment().clear();
    pb.environment().putAll(env);
    pb.environment().put("SSH_ASKPASS_PROMPT", "confirm");
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    try {
      Process p = pb.start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        log.warn("confirmation prompt got no answer within {} s; refused", timeout.toSeconds());
        return false;
      }
      return p.exitValue() == 0;
    } catch (IOException e) {
      log.warn("could not run askpass {}: {}; refused", askpass, e.getMessage());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
