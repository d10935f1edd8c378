package dev.keymux.core.prompt;

import dev.keymux.core.agent.Session;
import java.util.Collection;
import java.util.Optional;

/**
 * The one way keymux asks the user anything — key passphrases, token PINs, confirmations for
 * {@code ssh-add -c} keys and policy {@code confirm} rules — so that {@code keymux.prompt} decides
 * for all of them where the question appears. Each question names the client process it is
 * asked for: a terminal prompt appears on that client's terminal only when it is
 * safe: a client of keymux's own user, in its terminal's foreground, not through agent forwarding.
 */
public interface Prompter extends ConfirmPrompt {
  /**
   * Asks for a secret. Empty when the user cancelled, did not answer in time, or nobody can be
   * asked (logged with the reason). The caller wipes the answer.
   *
   * @param prompt the whole question, as an askpass program shows it ("Enter PIN for 'x': ")
   * @param label the short label before a terminal's input field ("PIN:")
   */
  Optional<byte[]> secret(Session session, String prompt, String label) throws InterruptedException;

  /** Why nobody could be asked for this connection now (for an early, clear failure), or empty. */
  Optional<String> unavailable(Session session);

  /** A notice on screen until closed. */
  interface Notice extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Tells the user something they must act on now without asking anything ("touch your security
   * key"), until the returned notice is closed. By default a log line; prompt layers that can
   * show more do.
   */
  default Notice notice(Session session, String text) {
    org.slf4j.LoggerFactory.getLogger(Prompter.class).info("{}: {}", session, text);
    return () -> {};
  }

  /** Asks whether a key may be used for this connection, worded like every other confirm prompt. */
  boolean confirmUse(Session session, Collection<String> keyComments, String fingerprint);
}
