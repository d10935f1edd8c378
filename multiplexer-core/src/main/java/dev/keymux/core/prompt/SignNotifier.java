package dev.keymux.core.prompt;

import dev.keymux.core.concurrent.DaemonThreads;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A desktop notification after each signature ({@code keymux.notify}): {@code notify-send -a
 * keymux "Signed with KEY" "CLIENT for DESTINATION"}, so a signature nobody expected is seen. It
 * runs on its own thread and never delays or fails the signature: a slow notify-send is killed, a
 * backlog is dropped. It names the key and the requester, never the data signed.
 */
public final class SignNotifier implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SignNotifier.class);
  static final String PROGRAM = "notify-send";
  /** How long one notify-send may run before it is killed (it normally returns at once). */
  private static final Duration RUN_LIMIT = Duration.ofSeconds(10);
  /** Notifications waiting beyond this are dropped: a burst of signatures must not pile up processes. */
  private static final int BACKLOG = 16;

  /** Notifies nothing. */
  public static final SignNotifier OFF = new SignNotifier(null, Map.of());

  private final Path program;
  private final Map<String, String> env;
  private final ThreadPoolExecutor runner;

  private SignNotifier(Path program, Map<String, String> env) {
    this.program = program;
    this.env = Map.copyOf(env);
    this.runner = program == null ? null : new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(BACKLOG), DaemonThreads.named("keymux-notify"), new ThreadPoolExecutor.DiscardPolicy());
  }

  /**
   * Notifications through the {@code notify-send} on {@code env}'s PATH, run in {@code env} (it
   * needs the session bus); {@link #OFF} with a warning when there is none.
   */
  public static SignNotifier using(Map<String, String> env) {
    Optional<Path> program = onPath(env);
    if (program.isEmpty()) {
      log.warn("keymux.notify = true, but {} is not on PATH (Debian: apt install libnotify-bin); no notifications",
          PROGRAM);
      return OFF;
    }
    return new SignNotifier(program.get(), env);
  }

  private static Optional<Path> onPath(Map<String, String> env) {
    for (String dir : env.getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, PROGRAM))) {
        return Optional.of(Path.of(dir, PROGRAM));
      }
    }
    return Optional.empty();
  }

  /** Queues the notification for a signature made with {@code keyLabel} for {@code who}; returns at once. */
  public void signed(String keyLabel, Requester who) {
    if (runner == null) {
      return;
    }
    String title = Requester.printable("Signed with " + keyLabel, false);
    String body = markupEscaped(Requester.printable(who.requestedBy(), false));
    runner.execute(() -> run(title, body));
  }

  /** The body of a notification is markup to many notification servers: names are text. */
  static String markupEscaped(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private void run(String title, String body) {
    ProcessBuilder pb = new ProcessBuilder(program.toString(), "-a", "keymux", title, body)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD);
    pb.environment().clear();
    pb.environment().putAll(env);
    try {
      Process p = pb.start();
      if (!p.waitFor(RUN_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        log.debug("{} did not finish within {} s; killed", program, RUN_LIMIT.toSeconds());
      } else if (p.exitValue() != 0) {
        log.debug("{} exited {}", program, p.exitValue());
      }
    } catch (IOException e) {
      log.debug("cannot run {}: {}", program, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    if (runner != null) {
      runner.shutdownNow();
    }
  }
}
