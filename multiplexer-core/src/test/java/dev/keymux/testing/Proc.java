package dev.keymux.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs a command to completion with a timeout and captures its output. Never hangs a test. */
public final class Proc {
  private Proc() {}

  /** Agent-related variables a child never inherits from the test JVM unless given. */
  private static final List<String> SCRUBBED = List.of("SSH_AUTH_SOCK", "SSH_AGENT_PID", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "DISPLAY");

  public record Result(List<String> command, int exitCode, String stdout, String stderr) {
    public Result assertOk() {
      if (exitCode != 0) {
        fail(this.toString());
      }
      return this;
    }

    @Override
    public String toString() {
      return String.join(" ", command) + " exited " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
  }

  public static Result run(Duration timeout, Map<String, String> env, String... command) {
    return run(timeout, env, new byte[0], command);
  }

  public static Result run(Duration timeout, Map<String, String> env, byte[] stdin, String... command) {
    ProcessBuilder pb = new ProcessBuilder(command);
    SCRUBBED.forEach(pb.environment()::remove);
    pb.environment().putAll(env);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command[0], e);
    }
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()));
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
    try {
      p.getOutputStream().write(stdin);
      p.getOutputStream().close();
    } catch (IOException ignored) {
      // the command did not read its input
    }
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        fail(String.join(" ", command) + " did not finish within " + timeout.toSeconds() + " s");
      }
      return new Result(List.of(command), p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
    } catch (Exception e) {
      p.destroyForcibly();
      throw new AssertionError("running " + String.join(" ", command) + " failed", e);
    }
  }

  private static String drain(InputStream in) {
    try {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      in.transferTo(buf);
      return buf.toString(StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
