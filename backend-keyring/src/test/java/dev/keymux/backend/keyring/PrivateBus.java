package dev.keymux.backend.keyring;

import dev.keymux.testing.Proc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * A real dbus-daemon for one test, with a private HOME and XDG_RUNTIME_DIR and no service
 * directories: nothing is started on demand, so the bus has exactly the services the test puts
 * on it. Stopped by PID.
 */
final class PrivateBus implements AutoCloseable {
  private static final Duration T = Duration.ofSeconds(30);

  final Path home;
  final Path runtime;
  final String address;
  private final long pid;

  static boolean available() {
    return Files.isExecutable(Path.of("/usr/bin/dbus-daemon"));
  }

  PrivateBus(Path dir) throws IOException {
    home = Files.createDirectories(dir.resolve("home"));
    runtime = Files.createDirectories(dir.resolve("run"));
    Files.setPosixFilePermissions(runtime, PosixFilePermissions.fromString("rwx------"));
    Path socket = runtime.resolve("bus");
    Path config = dir.resolve("bus.conf");
    Files.writeString(config, """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>session</type>
          <listen>unix:path=%s</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow send_destination="*" eavesdrop="true"/>
            <allow eavesdrop="true"/>
            <allow own="*"/>
          </policy>
        </busconfig>
        """.formatted(socket));
    Proc.Result r = Proc.run(T, env(), "/usr/bin/dbus-daemon", "--config-file=" + config, "--fork", "--print-pid=1").assertOk();
    pid = Long.parseLong(r.stdout().trim());
    address = "unix:path=" + socket;
  }

  /** HOME, XDG_RUNTIME_DIR and XDG_DATA_HOME of this session (and the bus address once it runs). */
  Map<String, String> env() {
    Map<String, String> env = new HashMap<>();
    env.put("PATH", "/usr/bin:/bin");
    env.put("HOME", home.toString());
    env.put("XDG_RUNTIME_DIR", runtime.toString());
    env.put("XDG_DATA_HOME", home.resolve(".local/share").toString());
    if (address != null) {
      env.put("DBUS_SESSION_BUS_ADDRESS", address);
    }
    return env;
  }

  /** True once some connection owns {@code name} on this bus. */
  boolean hasOwner(String name) {
    Proc.Result r = Proc.run(T, env(), "/usr/bin/dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
        "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:" + name);
    return r.exitCode() == 0 && r.stdout().contains("boolean true");
  }

  void awaitOwner(String name) throws InterruptedException {
    long t0 = System.currentTimeMillis();
    while (!hasOwner(name)) {
      if (System.currentTimeMillis() - t0 > 10_000) {
        throw new IllegalStateException(name + " did not appear on the bus");
      }
      Thread.sleep(50);
    }
  }

  @Override
  public void close() {
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
  }
}
