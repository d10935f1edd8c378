package dev.keymux.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real OpenSSH sshd on 127.0.0.1 and a random port, with its own host key, config and
 * authorized_keys, run in the foreground as a child of the test and stopped by PID.
 */
public final class Sshd implements AutoCloseable {
  private final Process process;
  private final int port;
  private final Path knownHosts;
  private final Path hostKeyPub;
  private final Path log;

  private Sshd(Process process, int port, Path knownHosts, Path hostKeyPub, Path log) {
    this.process = process;
    this.port = port;
    this.knownHosts = knownHosts;
    this.hostKeyPub = hostKeyPub;
    this.log = log;
  }

  public static boolean available() {
    return Files.isExecutable(Path.of("/usr/sbin/sshd"));
  }

  public static Sshd start(Path workDir, Path authorizedKeys) throws Exception {
    return start(workDir, authorizedKeys, List.of());
  }

  public static Sshd start(Path workDir, Path authorizedKeys, List<String> extraConfig) throws Exception {
    Files.createDirectories(Path.of("/run/sshd"));
    Path hostKey = TestKeys.generate(workDir, "ssh_host_ed25519_key", "ed25519", "test host");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    List<String> config = new ArrayList<>(List.of(
        "Port " + port,
        "ListenAddress 127.0.0.1",
        "HostKey " + hostKey,
        "AuthorizedKeysFile " + authorizedKeys.toAbsolutePath(),
        "PidFile " + workDir.resolve("sshd.pid"),
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password",
        "LogLevel VERBOSE"));
    config.addAll(extraConfig);
    Path configFile = workDir.resolve("sshd_config");
    Files.write(configFile, config);
    Path log = workDir.resolve("sshd.log");
    Process p = new ProcessBuilder("/usr/sbin/sshd", "-f", configFile.toString(), "-D", "-e")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.currentTimeMillis() + 10_000;
    while (true) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        break;
      } catch (IOException e) {
        if (!p.isAlive() || System.currentTimeMillis() > deadline) {
          p.destroyForcibly();
          throw new IllegalStateException("sshd did not start:\n" + Files.readString(log));
        }
        Thread.sleep(20);
      }
    }
    Path knownHosts = workDir.resolve("known_hosts");
    Path hostPub = Path.of(hostKey + ".pub");
    Files.writeString(knownHosts, "[127.0.0.1]:" + port + " " + TestKeys.publicLine(hostPub) + "\n");
    return new Sshd(p, port, knownHosts, hostPub, log);
  }

  public int port() {
    return port;
  }

  public Path knownHosts() {
    return knownHosts;
  }

  public Path hostKeyPub() {
    return hostKeyPub;
  }

  /** An ssh command line for this server that uses only the agent and no user config. */
  public List<String> sshCommand(String remoteCommand, String... extraOptions) {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/ssh", "-F", "/dev/null", "-p", Integer.toString(port),
        "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=no", "-o", "PreferredAuthentications=publickey", "-o", "ConnectTimeout=5"));
    cmd.addAll(List.of(extraOptions));
    cmd.add(System.getProperty("user.name") + "@127.0.0.1");
    cmd.add(remoteCommand);
    return cmd;
  }

  public String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(3, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
