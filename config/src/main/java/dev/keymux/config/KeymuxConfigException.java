package dev.keymux.config;

import java.util.List;

/** One or more configuration problems, each naming the file, line and key, one per line. */
public final class KeymuxConfigException extends RuntimeException {
  private final List<String> problems;

  public KeymuxConfigException(List<String> problems) {
    super(String.join("\n", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
