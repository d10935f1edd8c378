package dev.keymux.cli.daemon;

import dev.keymux.config.KeymuxSettings;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the configuration on SIGHUP and, if watching is on, when the file changes (editors
 * that write a new file and rename it included). A file with errors is rejected whole: the errors
 * are logged and the running policy stays — never a half-applied policy.
 */
final class PolicyReloader implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PolicyReloader.class);
  /** Editors write in bursts; one reload per burst. */
  private static final long DEBOUNCE_MS = 300;

  private final Supplier<KeymuxSettings> load;
  private final Consumer<KeymuxSettings> apply;
  private final Optional<Path> file;
  private final java.util.function.BooleanSupplier watch;
  private WatchService watcher;
  /** The config file and, if it is a symlink, its target. */
  private final java.util.List<Path> watched = new java.util.ArrayList<>();
  private Thread thread;
  private byte[] lastDigest;

  /**
   * @param watch whether file changes reload now (asked per change, so turning the watch off in
   *     the file takes effect with that very reload)
   */
  PolicyReloader(Supplier<KeymuxSettings> load, Consumer<KeymuxSettings> apply, Optional<Path> file,
      java.util.function.BooleanSupplier watch) {
    this.load = load;
    this.apply = apply;
    this.file = file.map(Path::toAbsolutePath);
    this.watch = watch;
  }

  void start() {
    lastDigest = digest();
    try {
      sun.misc.SignalHandler before = sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> reload("SIGHUP", true));
      if (before == sun.misc.SignalHandler.SIG_IGN) {
        // The JVM keeps an inherited "ignore" for SIGHUP and installs nothing (nohup does this).
        log.warn("SIGHUP is ignored by this process (started under nohup?), so it cannot reload the configuration;"
            + " changes to the file are still picked up");
      }
    } catch (IllegalArgumentException e) {
      log.warn("SIGHUP cannot be handled here ({}); changes to the file are still picked up", e.getMessage());
    }
    if (file.isEmpty() || load == null) {
      return;
    }
    try {
      watcher = file.get().getFileSystem().newWatchService();
      watched.add(file.get());
      try {
        Path real = file.get().toRealPath();
        if (!real.equals(file.get())) {
          watched.add(real); // a symlinked config: edits land in the target's directory
        }
      } catch (IOException e) {
        // not there yet: its own directory is watched for it to appear
      }
      for (Path dir : watched.stream().map(Path::getParent).distinct().toList()) {
        dir.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
            StandardWatchEventKinds.ENTRY_DELETE);
      }
    } catch (IOException e) {
      log.warn("cannot watch {} for changes ({}); send SIGHUP to reload", file.get(), e.getMessage());
      return;
    }
    thread = new Thread(this::watchLoop, "keymux-config-watch");
    thread.setDaemon(true);
    thread.start();
  }

  private void watchLoop() {
    try {
      while (true) {
        WatchKey key = watcher.take();
        Path dir = (Path) key.watchable();
        boolean ours = key.pollEvents().stream().anyMatch(e -> e.context() instanceof Path name
            && watched.contains(dir.resolve(name)));
        key.reset();
        if (!ours) {
          continue;
        }
        // Let the burst settle, and swallow its other events.
        Thread.sleep(DEBOUNCE_MS);
        WatchKey more;
        while ((more = watcher.poll(DEBOUNCE_MS, TimeUnit.MILLISECONDS)) != null) {
          more.pollEvents();
          more.reset();
        }
        if (watch.getAsBoolean()) {
          reload("file change", false);
        }
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // stopping
    }
  }

  /** Loads and applies the configuration; {@code always} reloads even when the file's bytes are unchanged. */
  synchronized void reload(String why, boolean always) {
    if (load == null) {
      return;
    }
    byte[] now = digest();
    if (!always && Arrays.equals(now, lastDigest)) {
      return;
    }
    lastDigest = now;
    KeymuxSettings next;
    try {
      next = load.get();
    } catch (RuntimeException e) {
      log.error("configuration reload ({}) rejected, the running policy stays:\n{}", why, e.getMessage());
      return;
    }
    log.info("configuration reloaded ({})", why);
    apply.accept(next);
  }

  private byte[] digest() {
    if (file.isEmpty()) {
      return new byte[0];
    }
    try {
      return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file.get()));
    } catch (IOException e) {
      return new byte[0]; // missing (mid-rename): the next event brings it back
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    if (watcher != null) {
      try {
        watcher.close();
      } catch (IOException ignored) {
        // stopping anyway
      }
    }
    if (thread != null) {
      thread.interrupt();
    }
  }
}
