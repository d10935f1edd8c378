package dev.keymux.core.prompt;

/** Asks the user a yes/no question; answers false when the user says no or nobody could be asked. */
@FunctionalInterface
public interface ConfirmPrompt {
  /**
   * @param clientPid the process whose request needs the answer (its terminal is where a terminal
   *     prompt appears), or -1 when unknown
   */
  boolean confirm(long clientPid, String question);
}
