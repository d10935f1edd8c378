package dev.keymux.core.prompt;

import dev.keymux.core.agent.Session;

/** Asks the user a yes/no question; answers false when the user says no or nobody could be asked. */
@FunctionalInterface
public interface ConfirmPrompt {
  /**
   * @param session the connection whose request needs the answer: a terminal prompt appears on
   *     its client's terminal only when that is safe (see {@link Prompter})
   */
  boolean confirm(Session session, String question);
}
