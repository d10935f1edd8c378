package dev.keymux.core.prompt;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How keymux asks the user ({@code keymux.prompt}): for confirmations, key passphrases and token
 * PINs alike.
 */
public enum PromptMode {
  /** askpass when OpenSSH would run one (a display, or SSH_ASKPASS_REQUIRE=force), else a terminal. */
  AUTO,
  /** Only the askpass program, under OpenSSH's rules. */
  ASKPASS,
  /** Only pinentry-curses, on the requesting client's terminal (or keymux's own). */
  PINENTRY,
  /** Only a plain prompt written to and read from that terminal. */
  TTY,
  /** Never ask: confirmations are refused and secrets unavailable. */
  NONE;

  /** The setting's spelling ("auto", "askpass", ...). */
  public String value() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a setting value (any case); the error names the allowed values. */
  public static PromptMode parse(String value) {
    for (PromptMode m : values()) {
      if (m.value().equals(value.trim().toLowerCase(Locale.ROOT))) {
        return m;
      }
    }
    throw new IllegalArgumentException("must be one of " + allowed() + ", not '" + value + "'");
  }

  static String allowed() {
    return Arrays.stream(values()).map(PromptMode::value).collect(Collectors.joining(", "));
  }
}
