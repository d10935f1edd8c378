package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * keymux as users run it: the shaded jar in its own JVM ({@code java -jar keymux.jar serve}),
 * with a private HOME and config dir so no user configuration leaks in. Stopped with SIGTERM,
 * and the test checks it exits cleanly and removes its socket.
 */
final class KeymuxProcess implements AutoCloseable {
  final Path dir;
  final Path socket;
  final Path log;
  private final Process process;

  private KeymuxProcess(Path dir, Path socket, Path log, Process process) {
    this.dir = dir;
    this.socket = socket;
    this.log = log;
    this.process = process;
  }

  static Path jar() {
    Path jar = Path.of(System.getProperty("keymux.jar", "../cli/target/keymux.jar")).toAbsolutePath().normalize();
    assertTrue(Files.isRegularFile(jar), "the keymux jar must be built first: " + jar);
    return jar;
  }

  /** The command line that runs keymux with {@code args}. */
  static List<String> command(String... args) {
    // A test harness started under nohup passes "ignore SIGHUP" down to every child, and the JVM
    // keeps it; keymux is started with SIGHUP at its default, as a user's shell would.
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/env", "--default-signal=HUP", javaBinary(), "-jar", jar().toString()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /**
   * A clean environment for keymux and the OpenSSH tools in a test: private HOME, no agent, no
   * session bus (a test that wants GNOME Keyring passes its own DBUS_SESSION_BUS_ADDRESS).
   */
  static Map<String, String> cleanEnv(Path home) {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.keySet().removeIf(k -> k.startsWith("SSH_") || k.equals("DISPLAY") || k.startsWith("XDG_") || k.equals("KEYMUX_CONFIG")
        || k.equals("DBUS_SESSION_BUS_ADDRESS"));
    env.put("HOME", home.toString());
    env.put("XDG_CONFIG_HOME", home.resolve(".config").toString());
    return env;
  }

  static KeymuxProcess start(Path dir, Map<String, String> extraEnv, String... extraArgs) throws Exception {
    Path socket = dir.resolve("run").resolve("agent.sock");
    List<String> args = new ArrayList<>(List.of("-a", socket.toString()));
    args.addAll(List.of(extraArgs));
    return launch(dir, socket, extraEnv, args);
  }

  /**
   * keymux serve without {@code -a}: it picks its default socket, which the caller expects at
   * {@code expectedSocket}.
   */
  static KeymuxProcess startWithDefaultSocket(Path dir, Path expectedSocket, Map<String, String> extraEnv) throws Exception {
    return launch(dir, expectedSocket, extraEnv, List.of());
  }

  private static KeymuxProcess launch(Path dir, Path socket, Map<String, String> extraEnv, List<String> args) throws Exception {
    Path log = dir.resolve("keymux.log");
    List<String> cmd = command("serve");
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().clear();
    pb.environment().putAll(cleanEnv(dir));
    pb.environment().putAll(extraEnv);
    Process p = pb.start();
    long deadline = System.currentTimeMillis() + 20_000;
    while (!dev.keymux.core.client.AgentClient.answers(socket)) { // the file appears at bind(); wait until keymux answers on it
      if (!p.isAlive()) {
        fail("keymux exited with " + p.exitValue() + ":\n" + Files.readString(log));
      }
      if (System.currentTimeMillis() > deadline) {
        p.destroyForcibly();
        fail("keymux did not create its socket within 20 s:\n" + Files.readString(log));
      }
      Thread.sleep(20);
    }
    return new KeymuxProcess(dir, socket, log, p);
  }

  long pid() {
    return process.pid();
  }

  String log() throws IOException {
    return Files.readString(log);
  }

  /** Environment for an OpenSSH tool talking to this keymux. */
  Map<String, String> env() {
    Map<String, String> env = cleanEnv(dir);
    env.put("SSH_AUTH_SOCK", socket.toString());
    return env;
  }

  @Override
  public void close() throws Exception {
    process.destroy(); // SIGTERM: graceful shutdown
    boolean exited = process.waitFor(15, TimeUnit.SECONDS);
    if (!exited) {
      process.destroyForcibly();
    }
    assertTrue(exited, "keymux stops on SIGTERM");
    assertFalse(Files.exists(socket), "keymux removes its socket on SIGTERM");
  }
}
