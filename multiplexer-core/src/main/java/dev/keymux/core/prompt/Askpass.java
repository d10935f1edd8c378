package dev.keymux.core.prompt;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The askpass contract OpenSSH uses (readpass.c): the program named by {@code SSH_ASKPASS}
 * (default {@code /usr/bin/ssh-askpass}) runs with the prompt as its only argument, answers on
 * stdout (up to the first line break) and exits 0; anything else is a refusal.
 * {@code SSH_ASKPASS_PROMPT} tells it the kind of prompt ("confirm" for yes/no).
 *
 * <p>Whether it may run at all follows OpenSSH too, because keymux, like ssh-agent, has no
 * terminal to fall back to: only when {@code DISPLAY} or {@code WAYLAND_DISPLAY} is set, or
 * {@code SSH_ASKPASS_REQUIRE=force}; {@code SSH_ASKPASS_REQUIRE=never} forbids it even with a
 * display, and {@code prefer} adds nothing without one (values compared case-insensitively).
 */
public final class Askpass {
  static final String DEFAULT_PROGRAM = "/usr/bin/ssh-askpass";
  /** A passphrase longer than this is not a passphrase; stop reading (OpenSSH reads 1 KiB). */
  private static final int MAX_ANSWER = 8192;
  private static final byte[] YES = {'y', 'e', 's'};

  private final Map<String, String> env;
  private final Duration timeout;

  public Askpass(Map<String, String> env, Duration timeout) {
    this.env = Map.copyOf(env);
    this.timeout = timeout;
  }

  /** Why OpenSSH's rules forbid the askpass here, or empty when they allow it. */
  private Optional<String> forbidden() {
    String require = env.getOrDefault("SSH_ASKPASS_REQUIRE", "").toLowerCase(Locale.ROOT);
    if (require.equals("never")) {
      return Optional.of("SSH_ASKPASS_REQUIRE=never");
    }
    if (require.equals("force") || !env.getOrDefault("DISPLAY", "").isEmpty()
        || !env.getOrDefault("WAYLAND_DISPLAY", "").isEmpty()) {
      return Optional.empty();
    }
    return Optional.of("neither DISPLAY nor WAYLAND_DISPLAY is set; SSH_ASKPASS_REQUIRE=force runs it without a display");
  }

  /** Whether OpenSSH's rules allow an askpass here (a display, or SSH_ASKPASS_REQUIRE=force), runnable or not. */
  public boolean allowed() {
    return forbidden().isEmpty();
  }

  private Path configuredProgram() {
    String p = env.getOrDefault("SSH_ASKPASS", "");
    return Path.of(p.isEmpty() ? DEFAULT_PROGRAM : p);
  }

  /** The askpass program that would run, or empty when none can (see {@link #describeProgram()}). */
  public Optional<Path> program() {
    if (forbidden().isPresent()) {
      return Optional.empty();
    }
    Path program = configuredProgram();
    return Files.isExecutable(program) ? Optional.of(program) : Optional.empty();
  }

  /** Why no askpass program can run (meaningful when {@link #program()} is empty). */
  public String describeProgram() {
    return forbidden().orElseGet(() -> configuredProgram() + " is not executable");
  }

  /**
   * OpenSSH's {@code ask_permission}: asks {@code question} with {@code SSH_ASKPASS_PROMPT=confirm}
   * and allows only when the program exits 0 and answers nothing or "yes" (any case). No
   * runnable askpass, another answer, a non-zero exit or a timeout all mean no.
   */
  public boolean confirm(String question) throws InterruptedException {
    Optional<byte[]> answer = ask(question, "confirm");
    if (answer.isEmpty()) {
      return false;
    }
    byte[] a = answer.get();
    try {
      return a.length == 0 || isYes(a);
    } finally {
      Arrays.fill(a, (byte) 0);
    }
  }

  private static boolean isYes(byte[] a) {
    if (a.length != YES.length) {
      return false;
    }
    for (int i = 0; i < a.length; i++) {
      if ((a[i] | 0x20) != YES[i]) { // ASCII letters only, like strcasecmp in the C locale
        return false;
      }
    }
    return true;
  }

  /**
   * Runs the askpass program. Returns its answer up to the first CR or LF when it exits 0, or
   * empty when it refused, failed, timed out or cannot run. The caller wipes the answer.
   */
  public Optional<byte[]> ask(String prompt, String hint) throws InterruptedException {
    Optional<Path> program = program();
    if (program.isEmpty()) {
      return Optional.empty();
    }
    ProcessBuilder pb = new ProcessBuilder(program.get().toString(), prompt);
    pb.environment().clear();
    pb.environment().putAll(env);
    if (hint != null) {
      pb.environment().put("SSH_ASKPASS_PROMPT", hint);
    } else {
      pb.environment().remove("SSH_ASKPASS_PROMPT");
    }
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      return Optional.empty();
    }
    // Read on another thread so a hung askpass is bounded by the timeout, then killed.
    InputStream out = p.getInputStream();
    CompletableFuture<byte[]> reader = CompletableFuture.supplyAsync(() -> readLimited(out));
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        kill(p);
        reader.thenAccept(b -> Arrays.fill(b, (byte) 0));
        return Optional.empty();
      }
      byte[] answer = reader.get(5, TimeUnit.SECONDS);
      try {
        if (p.exitValue() != 0) {
          return Optional.empty();
        }
        // OpenSSH keeps what precedes the first line break (strcspn(buf, "\r\n")).
        int n = 0;
        while (n < answer.length && answer[n] != '\n' && answer[n] != '\r') {
          n++;
        }
        return Optional.of(Arrays.copyOf(answer, n));
      } finally {
        Arrays.fill(answer, (byte) 0);
      }
    } catch (ExecutionException | TimeoutException e) {
      return Optional.empty();
    } finally {
      kill(p);
    }
  }

  /**
   * Shows {@code text} as a notification, the way OpenSSH's agent asks for a touch: the askpass
   * run with {@code SSH_ASKPASS_PROMPT=none}, which only displays; it stays up until the
   * returned handle is closed (at most the timeout). Empty when no askpass may run.
   */
  public Optional<Prompter.Notice> show(String text) {
    Optional<Path> program = program();
    if (program.isEmpty()) {
      return Optional.empty();
    }
    ProcessBuilder pb = new ProcessBuilder(program.get().toString(), text);
    pb.environment().clear();
    pb.environment().putAll(env);
    pb.environment().put("SSH_ASKPASS_PROMPT", "none");
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    try {
      Process p = pb.start();
      p.onExit().orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((x, e) -> kill(p));
      return Optional.of(() -> kill(p));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static void kill(Process p) {
    if (p.isAlive()) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  private static byte[] readLimited(InputStream in) {
    byte[] buf = new byte[MAX_ANSWER];
    int n = 0;
    try (in) {
      int r;
      while (n < buf.length && (r = in.read(buf, n, buf.length - n)) > 0) {
        n += r;
      }
    } catch (IOException e) {
      // the process went away; use what arrived
    }
    byte[] out = Arrays.copyOf(buf, n);
    Arrays.fill(buf, (byte) 0);
    return out;
  }

}
