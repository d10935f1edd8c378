package dev.keymux.core.prompt;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The askpass contract OpenSSH uses: the program named by {@code SSH_ASKPASS} (default
 * {@code /usr/bin/ssh-askpass}) runs with the prompt as its only argument, answers on stdout and
 * exits 0; anything else is a refusal. {@code SSH_ASKPASS_PROMPT} tells it the kind of prompt
 * ("confirm" for yes/no). {@code SSH_ASKPASS_REQUIRE=never} disables it.
 */
public final class Askpass {
  static final String DEFAULT_PROGRAM = "/usr/bin/ssh-askpass";
  /** A passphrase longer than this is not a passphrase; stop reading (OpenSSH reads 1 KiB). */
  private static final int MAX_ANSWER = 8192;

  private final Map<String, String> env;
  private final Duration timeout;

  public Askpass(Map<String, String> env, Duration timeout) {
    this.env = Map.copyOf(env);
    this.timeout = timeout;
  }

  /** The askpass program that would run, or why none can. */
  public Optional<Path> program() {
    if ("never".equals(env.get("SSH_ASKPASS_REQUIRE"))) {
      return Optional.empty();
    }
    String p = env.getOrDefault("SSH_ASKPASS", "");
    Path program = Path.of(p.isEmpty() ? DEFAULT_PROGRAM : p);
    return Files.isExecutable(program) ? Optional.of(program) : Optional.empty();
  }

  public String describeProgram() {
    if ("never".equals(env.get("SSH_ASKPASS_REQUIRE"))) {
      return "SSH_ASKPASS_REQUIRE=never";
    }
    String p = env.getOrDefault("SSH_ASKPASS", "");
    return (p.isEmpty() ? DEFAULT_PROGRAM : p) + " is not executable";
  }

  /**
   * Runs the askpass program. Returns its answer (trailing newline removed) when it exits 0, or
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
      if (p.exitValue() != 0) {
        Arrays.fill(answer, (byte) 0);
        return Optional.empty();
      }
      int n = answer.length;
      while (n > 0 && (answer[n - 1] == '\n' || answer[n - 1] == '\r')) {
        n--;
      }
      byte[] trimmed = Arrays.copyOf(answer, n);
      Arrays.fill(answer, (byte) 0);
      return Optional.of(trimmed);
    } catch (ExecutionException | TimeoutException e) {
      return Optional.empty();
    } finally {
      kill(p);
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
