package dev.keymux.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real, headless GNOME Keyring for one test: a private session bus and
 * gnome-keyring-daemon (secrets + ssh components) with its own HOME and XDG_RUNTIME_DIR,
 * unlocked with a known password. Stopped by PID.
 */
public final class GnomeKeyring implements AutoCloseable {
  private static final Duration T = Duration.ofSeconds(30);

  private final Path home;
  private final Path runtime;
  private final long busPid;
  private final Process daemon;

  private GnomeKeyring(Path home, Path runtime, long busPid, Process daemon) {
    this.home = home;
    this.runtime = runtime;
    this.busPid = busPid;
    this.daemon = daemon;
  }

  public static boolean available() {
    return Files.isExecutable(Path.of("/usr/bin/gnome-keyring-daemon")) && Files.isExecutable(Path.of("/usr/bin/dbus-daemon"))
        && Files.isExecutable(Path.of("/usr/bin/secret-tool"));
  }

  public static GnomeKeyring start(Path dir, String password) throws Exception {
    return start(dir, dir.resolve("run"), password);
  }

  /** As {@link #start(Path, String)}, with the session's XDG_RUNTIME_DIR at {@code runtime} (e.g. /run/user/UID). */
  public static GnomeKeyring start(Path dir, Path runtime, String password) throws Exception {
    Path home = Files.createDirectories(dir.resolve("home"));
    Files.createDirectories(runtime);
    Files.setPosixFilePermissions(runtime, PosixFilePermissions.fromString("rwx------"));
    Map<String, String> env = baseEnv(home, runtime);
    Proc.Result bus = Proc.run(T, env, "/usr/bin/dbus-daemon", "--session", "--fork",
        "--address=unix:path=" + runtime.resolve("bus"), "--print-pid=1").assertOk();
    long busPid = Long.parseLong(bus.stdout().trim());
    env.put("DBUS_SESSION_BUS_ADDRESS", "unix:path=" + runtime.resolve("bus"));
    ProcessBuilder pb = new ProcessBuilder("/usr/bin/gnome-keyring-daemon", "--unlock", "--foreground",
        "--components=secrets,ssh").redirectErrorStream(true).redirectOutput(dir.resolve("gnome-keyring.log").toFile());
    pb.environment().clear();
    pb.environment().putAll(env);
    Process daemon = pb.start();
    daemon.getOutputStream().write(password.getBytes());
    daemon.getOutputStream().close();
    GnomeKeyring k = new GnomeKeyring(home, runtime, busPid, daemon);
    long t0 = System.currentTimeMillis();
    while (!Files.exists(k.sshSocket())) {
      if (!daemon.isAlive() || System.currentTimeMillis() - t0 > 10_000) {
        k.close();
        throw new IllegalStateException("gnome-keyring-daemon did not start: " + Files.readString(dir.resolve("gnome-keyring.log")));
      }
      Thread.sleep(50);
    }
    return k;
  }

  private static Map<String, String> baseEnv(Path home, Path runtime) {
    Map<String, String> env = new HashMap<>();
    env.put("PATH", "/usr/bin:/bin");
    env.put("HOME", home.toString());
    env.put("XDG_RUNTIME_DIR", runtime.toString());
    env.put("XDG_DATA_HOME", home.resolve(".local/share").toString());
    return env;
  }

  /** HOME, XDG_RUNTIME_DIR, XDG_DATA_HOME and DBUS_SESSION_BUS_ADDRESS of this session. */
  public Map<String, String> env() {
    Map<String, String> env = baseEnv(home, runtime);
    env.put("DBUS_SESSION_BUS_ADDRESS", "unix:path=" + runtime.resolve("bus"));
    return env;
  }

  public Path home() {
    return home;
  }

  public Path sshSocket() {
    return runtime.resolve("keyring").resolve("ssh");
  }

  /** Stores a secret with the attributes gnome-keyring uses for SSH key passphrases. */
  public void storeSshPassphrase(Path keyFile, String passphrase, String comment) {
    Proc.run(T, env(), passphrase.getBytes(), "/usr/bin/secret-tool", "store", "--label=Unlock password for: " + comment,
        "unique", "ssh-store:" + keyFile.toAbsolutePath()).assertOk();
  }

  @Override
  public void close() throws InterruptedException, IOException {
    daemon.destroy();
    if (!daemon.waitFor(5, TimeUnit.SECONDS)) {
      daemon.destroyForcibly();
    }
    ProcessHandle.of(busPid).ifPresent(ProcessHandle::destroy);
  }
}
