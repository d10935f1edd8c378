package dev.keymux.cli;

import java.time.Duration;
import java.time.Instant;

/**
 * Marks on the way from exec to the first served socket, printed to stderr when the system
 * property {@code keymux.startup.trace} is set: how docs/architecture.md ("Start-up and memory")
 * found where start-up time goes. Costs one property read when off.
 */
final class StartupTrace {
  private static final boolean ON = System.getProperty("keymux.startup.trace") != null;
  private static final long T0 = System.nanoTime();

  private StartupTrace() {}

  static void mark(String phase) {
    if (ON) {
      long sinceExec = ProcessHandle.current().info().startInstant()
          .map(start -> Duration.between(start, Instant.now()).toMillis()).orElse(-1L);
      System.err.printf("keymux start-up: %-16s %4d ms in main, %4d ms since exec%n", phase,
          (System.nanoTime() - T0) / 1_000_000, sinceExec);
    }
  }
}
