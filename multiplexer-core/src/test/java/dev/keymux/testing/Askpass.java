package dev.keymux.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

/** Askpass programs for tests: CI has no terminal, so every prompt goes through one of these. */
public final class Askpass {
  private Askpass() {}

  /**
   * The environment that makes keymux (like OpenSSH) run {@code program} as its askpass: CI has
   * no display, so {@code SSH_ASKPASS_REQUIRE=force} is what allows it.
   */
  public static Map<String, String> env(Path program) {
    return Map.of("SSH_ASKPASS", program.toString(), "SSH_ASKPASS_REQUIRE", "force");
  }

  /** Prints {@code answer} and exits 0 (yes / this passphrase). */
  public static Path answering(Path dir, String answer) {
    return write(dir, "askpass-answer", "#!/bin/sh\nprintf '%s\\n' '" + answer.replace("'", "'\\''") + "'\nexit 0\n");
  }

  /** Prints {@code answer} and exits with {@code status}. */
  public static Path answering(Path dir, String answer, int status) {
    return write(dir, "askpass-answer-" + status, "#!/bin/sh\nprintf '%s\\n' '" + answer.replace("'", "'\\''") + "'\nexit "
        + status + "\n");
  }

  /** Exits 1 (no / cancelled). */
  public static Path refusing(Path dir) {
    return write(dir, "askpass-refuse", "#!/bin/sh\nexit 1\n");
  }

  /** Appends its prompt and SSH_ASKPASS_PROMPT to {@code log}, then answers like {@link #answering}. */
  public static Path recording(Path dir, String answer, Path log) {
    return write(dir, "askpass-record", "#!/bin/sh\nprintf 'prompt=%s\\nhint=%s\\n' \"$1\" \"$SSH_ASKPASS_PROMPT\" >> '" + log
        + "'\nprintf '%s\\n' '" + answer.replace("'", "'\\''") + "'\nexit 0\n");
  }

  private static Path write(Path dir, String name, String script) {
    try {
      Files.createDirectories(dir);
      Path p = dir.resolve(name);
      Files.writeString(p, script);
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------"));
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
