package dev.keymux.core.keyring;

/** Asks the user whether a key may be used; answers false when nobody could be asked. */
@FunctionalInterface
public interface ConfirmPrompt {
  boolean confirm(String question);
}
