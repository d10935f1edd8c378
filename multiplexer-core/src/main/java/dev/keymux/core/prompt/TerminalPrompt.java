package dev.keymux.core.prompt;

import dev.keymux.core.prompt.Terminals.Terminal;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A plain prompt on a terminal device, for when pinentry-curses is not installed: the question
 * written to the terminal, the answer read back from it. The terminal may be in any mode (raw
 * under an interactive ssh session), so its modes are saved with {@code stty -g}, set to line
 * editing — with echo off for a secret — and restored afterwards. A secret is never read with
 * echo on: if {@code stty} fails, nothing is asked. No answer within the timeout closes the
 * device, which ends the read.
 */
final class TerminalPrompt {
  private static final Logger log = LoggerFactory.getLogger(TerminalPrompt.class);
  /** A longer answer is not an answer; stop reading (like Askpass). */
  private static final int MAX_ANSWER = 8192;
  private static final long STTY_SECONDS = 5;

  private final Duration timeout;
  private final ScheduledExecutorService timer;

  TerminalPrompt(Duration timeout, ScheduledExecutorService timer) {
    this.timeout = timeout;
    this.timer = timer;
  }

  /** Yes only for "y" or "yes" (any case); anything else, or no answer in time, is no. */
  boolean confirm(Terminal terminal, String question) {
    Optional<byte[]> answer = ask(terminal, question, "Allow? [y/N] ", true);
    if (answer.isEmpty()) {
      return false;
    }
    String a = new String(answer.get(), StandardCharsets.UTF_8).strip();
    return a.equalsIgnoreCase("y") || a.equalsIgnoreCase("yes");
  }

  /** A secret typed with echo off; empty when nothing could be read. The caller wipes it. */
  Optional<byte[]> secret(Terminal terminal, String description, String prompt) {
    return ask(terminal, description, prompt, false);
  }

  private Optional<byte[]> ask(Terminal terminal, String text, String prompt, boolean echo) {
    Optional<String> saved = stty(terminal, List.of("-g"));
    if (saved.isEmpty()) {
      log.warn("cannot read the modes of {} with stty; not asking there", terminal.device());
      return Optional.empty();
    }
    try (FileChannel tty = FileChannel.open(terminal.device(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      if (stty(terminal, List.of("icanon", "icrnl", "opost", "onlcr", echo ? "echo" : "-echo")).isEmpty()) {
        log.warn("cannot set the modes of {} with stty; not asking there", terminal.device());
        return Optional.empty();
      }
      ScheduledFuture<?> closer = timer.schedule(() -> close(tty), timeout.toMillis(), TimeUnit.MILLISECONDS);
      try {
        write(tty, "\nkeymux: " + text + "\n" + prompt);
        Optional<byte[]> line = readLine(tty);
        if (!echo) {
          write(tty, "\n"); // the Enter that ended the secret was not echoed
        }
        return line;
      } finally {
        closer.cancel(false);
      }
    } catch (ClosedChannelException e) {
      if (!Thread.currentThread().isInterrupted()) {
        log.info("no answer on {} within {} s", terminal.device(), timeout.toSeconds());
      }
      return Optional.empty();
    } catch (IOException e) {
      log.warn("cannot ask on {}: {}", terminal.device(), e.getMessage());
      return Optional.empty();
    } finally {
      stty(terminal, List.of(saved.get()));
    }
  }

  private static void write(FileChannel tty, String text) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
    while (b.hasRemaining()) {
      tty.write(b);
    }
  }

  /** Up to the line feed (not included); empty at end of input. The caller wipes the answer. */
  private static Optional<byte[]> readLine(FileChannel tty) throws IOException {
    byte[] buf = new byte[MAX_ANSWER];
    ByteBuffer one = ByteBuffer.allocate(1);
    int n = 0;
    try {
      while (n < buf.length) {
        one.clear();
        if (tty.read(one) < 0) {
          return Optional.empty();
        }
        byte c = one.get(0);
        if (c == '\n' || c == '\r') {
          break;
        }
        buf[n++] = c;
      }
      return Optional.of(Arrays.copyOf(buf, n));
    } finally {
      Arrays.fill(buf, (byte) 0);
      one.put(0, (byte) 0);
    }
  }

  /** Runs stty on the terminal; its output, or empty when it failed. */
  private static Optional<String> stty(Terminal terminal, List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add("stty");
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(terminal.device().toFile())
        .redirectError(ProcessBuilder.Redirect.DISCARD);
    try {
      Process p = pb.start();
      // Waited for before its output is read: a stty that hangs (stopped by SIGTTOU) must not
      // hold the terminal's turn forever. Its output (stty -g) is far smaller than a pipe's buffer.
      if (!p.waitFor(STTY_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        log.warn("stty on {} did not finish within {} s; killed", terminal.device(), STTY_SECONDS);
        return Optional.empty();
      }
      byte[] out = p.getInputStream().readAllBytes();
      return p.exitValue() == 0 ? Optional.of(new String(out, StandardCharsets.UTF_8).strip()) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private static void close(FileChannel tty) {
    try {
      tty.close();
    } catch (IOException e) {
      // closing is how the read is ended; nothing more to do
    }
  }
}
