package dev.keymux.cli;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * Runs a helper program (systemctl, sudo, docker, id) to its end and keeps what it printed. Never
 * throws and never waits for ever: a missing program or a timeout is an outcome too. Standard
 * input is /dev/null, so nothing can stop to ask.
 */
public final class Programs {
  /** A user lookup may go to the network (LDAP), but not for long. */
  private static final Duration LOOKUP_TIMEOUT = Duration.ofSeconds(10);

  private Programs() {}

  /** What a command did: exit code (-1: it could not run or timed out) and its output, stderr included. */
  public record Outcome(int exitCode, String output) {
    public boolean ok() {
      return exitCode == 0;
    }

    /** The first line of the output, or a placeholder when it printed nothing. */
    public String firstLine() {
      String t = output.strip();
      return t.isEmpty() ? "(no output, exit " + exitCode + ")" : t.lines().findFirst().orElse(t);
    }
  }

  public static Outcome run(Duration timeout, List<String> cmd) {
    return run(timeout, cmd, null);
  }

  /** As {@link #run(Duration, List)}, with exactly the environment {@code env} (inherited when null). */
  public static Outcome run(Duration timeout, List<String> cmd, Map<String, String> env) {
    Process p;
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      if (env != null) {
        pb.environment().clear();
        pb.environment().putAll(env);
      }
      p = pb.start();
    } catch (IOException e) {
      return new Outcome(-1, cmd.get(0) + " cannot run: " + e.getMessage());
    }
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      Thread reader = new Thread(() -> drain(p.getInputStream(), out), "keymux-" + new File(cmd.get(0)).getName() + "-output");
      reader.setDaemon(true);
      reader.start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return new Outcome(-1, String.join(" ", cmd) + " did not finish within " + timeout.toSeconds() + " s");
      }
      reader.join(TimeUnit.SECONDS.toMillis(5));
      synchronized (out) {
        return new Outcome(p.exitValue(), out.toString(StandardCharsets.UTF_8));
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      return new Outcome(-1, "interrupted");
    }
  }

  private static void drain(InputStream in, ByteArrayOutputStream out) {
    byte[] buf = new byte[4096];
    try {
      int n;
      while ((n = in.read(buf)) > 0) {
        synchronized (out) {
          out.write(buf, 0, n);
        }
      }
    } catch (IOException ignored) {
      // the process ended; what was read is the output
    }
  }

  /** The uid of user {@code name} through {@code id -u} (so NSS users count), or empty when this host has none. */
  public static OptionalInt uidOf(String name) {
    Outcome r = run(LOOKUP_TIMEOUT, List.of("id", "-u", "--", name));
    String out = r.output().strip();
    return r.ok() && out.matches("\\d{1,10}") ? OptionalInt.of(Integer.parseInt(out)) : OptionalInt.empty();
  }

  /** The user name of {@code uid}, or empty when this host has none. */
  public static Optional<String> nameOf(int uid) {
    Outcome r = run(LOOKUP_TIMEOUT, List.of("id", "-nu", "--", Integer.toString(uid)));
    String out = r.output().strip();
    return r.ok() && !out.isEmpty() ? Optional.of(out) : Optional.empty();
  }
}
