package dev.keymux.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A real OpenSSH ssh-agent in the foreground ({@code -D}), the reference keymux is held to. */
public final class OpenSshAgent implements AutoCloseable {
  private final Process process;
  private final Path dir;
  private final Path socket;

  private OpenSshAgent(Process process, Path dir, Path socket) {
    this.process = process;
    this.dir = dir;
    this.socket = socket;
  }

  /** Starts ssh-agent with extra arguments (e.g. "-t", "60"), SSH_ASKPASS and DISPLAY unset. */
  public static OpenSshAgent start(String... args) throws Exception {
    return start(Map.of(), args);
  }

  /** With extra environment for the agent (e.g. SOFTHSM2_CONF for its PKCS#11 helper). */
  public static OpenSshAgent start(Map<String, String> env, String... args) throws Exception {
    Path dir = Files.createTempDirectory(Path.of("/tmp"), "osa");
    Path socket = dir.resolve("agent.sock");
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/ssh-agent", "-D", "-a", socket.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("SSH_") || k.equals("DISPLAY"));
    pb.environment().putAll(env);
    Process p = pb.start();
    long deadline = System.currentTimeMillis() + 5000;
    // The socket file appears at bind(), a moment before listen(): wait until it accepts.
    while (!dev.keymux.core.client.AgentClient.answers(socket)) {
      if (!p.isAlive() || System.currentTimeMillis() > deadline) {
        p.destroyForcibly();
        throw new IllegalStateException("ssh-agent did not start: " + Files.readString(dir.resolve("log")));
      }
      Thread.sleep(10);
    }
    return new OpenSshAgent(p, dir, socket);
  }

  public Path socket() {
    return socket;
  }

  public Map<String, String> env() {
    return Map.of("SSH_AUTH_SOCK", socket.toString());
  }

  @Override
  public void close() throws InterruptedException, IOException {
    process.destroy();
    if (!process.waitFor(3, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
    }
    Files.deleteIfExists(dir);
  }
}
