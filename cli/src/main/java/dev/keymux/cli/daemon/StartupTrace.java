package dev.keymux.cli.daemon;

/**
 * Marks on the way from exec to the first served socket, printed to stderr when the system
 * property {@code keymux.startup.trace} is set: how docs/architecture.md ("Start-up and memory")
 * found where start-up time goes. Costs one property read when off.
 */
public final class StartupTrace {
  private static final boolean ON = System.getProperty("keymux.startup.trace") != null;
  private static final long T0 = System.nanoTime();

  private StartupTrace() {}

  public static void mark(String phase) {
    if (ON) {
      System.err.println("keymux start-up: " + phase + " at " + (System.nanoTime() - T0) / 1_000_000 + " ms");
    }
  }
}
