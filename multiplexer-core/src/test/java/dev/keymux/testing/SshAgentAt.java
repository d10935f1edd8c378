package dev.keymux.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSSH ssh-agent bound at a path the test chooses: where GNOME's agent or a stray
 * agent would listen, or started again at the same place after it died. Stopped by its own
 * process handle.
 */
public final class SshAgentAt implements AutoCloseable {
  private final Process process;
  private final Path socket;

  private SshAgentAt(Process process, Path socket) {
    this.process = process;
    this.socket = socket;
  }

  /** Starts ssh-agent on {@code socket} (a leftover file there is removed first); returns once it accepts. */
  public static SshAgentAt start(Path socket) throws Exception {
    Files.createDirectories(socket.getParent());
    Files.deleteIfExists(socket);
    ProcessBuilder pb = new ProcessBuilder("/usr/bin/ssh-agent", "-D", "-a", socket.toString()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.environment().keySet().removeIf(k -> k.startsWith("SSH_") || k.equals("DISPLAY"));
    Process p = pb.start();
    long deadline = System.currentTimeMillis() + 5000;
    // The socket file appears at bind(), before listen(): wait until a connection is accepted.
    while (!dev.keymux.core.client.AgentClient.answers(socket)) {
      if (!p.isAlive() || System.currentTimeMillis() > deadline) {
        p.destroyForcibly();
        throw new IllegalStateException("ssh-agent did not start on " + socket);
      }
      Thread.sleep(10);
    }
    return new SshAgentAt(p, socket);
  }

  public Path socket() {
    return socket;
  }

  public Map<String, String> env() {
    return Map.of("SSH_AUTH_SOCK", socket.toString());
  }

  /** SIGTERM: ssh-agent removes its socket. */
  public void stop() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(5, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
  }

  /** SIGKILL, as in a crash: the socket file stays behind and connecting to it is refused. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(5, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      stop();
    }
  }
}
