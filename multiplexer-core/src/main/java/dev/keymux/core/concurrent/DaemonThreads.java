package dev.keymux.core.concurrent;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads for keymux's background work (timers, connections, backend calls): daemon threads, so
 * none of them keeps the JVM alive after serve ends, each named so a thread dump says whose it is.
 */
public final class DaemonThreads {
  private DaemonThreads() {}

  /** Every thread named {@code name}. */
  public static ThreadFactory named(String name) {
    return r -> daemon(new Thread(r, name));
  }

  /** Threads named {@code prefix} followed by 1, 2, 3, ... */
  public static ThreadFactory numbered(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> daemon(new Thread(r, prefix + n.incrementAndGet()));
  }

  /** A single-thread scheduler on a daemon thread named {@code name}. */
  public static ScheduledExecutorService scheduler(String name) {
    return Executors.newSingleThreadScheduledExecutor(named(name));
  }

  private static Thread daemon(Thread t) {
    t.setDaemon(true);
    return t;
  }
}
