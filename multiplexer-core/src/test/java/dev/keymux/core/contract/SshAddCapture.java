package dev.keymux.core.contract;

import dev.keymux.core.agent.Agent;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.server.AgentLock;
import dev.keymux.core.server.AgentServer;
import dev.keymux.core.server.RequestDispatcher;
import dev.keymux.core.wire.AgentRequest.AddIdentity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Obtains real ADD_IDENTITY messages: runs OpenSSH's own {@code ssh-add} against a socket whose
 * agent only records what it receives. The key material is then exactly what OpenSSH sends, so
 * tests of agents that take keys directly (not over a socket) use genuine wire bytes.
 */
public final class SshAddCapture {
  private SshAddCapture() {}

  /** Runs {@code ssh-add ARGS... KEYFILE} and returns the add request(s) it sent. */
  public static List<AddIdentity> capture(Path workDir, Path keyFile, String... sshAddArgs) throws Exception {
    List<AddIdentity> seen = new ArrayList<>();
    Agent recorder = new Agent() {
      @Override
      public List<Identity> list(Session session) {
        return List.of();
      }

      @Override
      public byte[] sign(Session session, KeyBlob key, byte[] data, int flags) throws AgentException {
        throw AgentException.failed("recorder does not sign");
      }

      @Override
      public void add(Session session, AddIdentity request) {
        // The dispatcher wipes the request after handling it; keep a copy.
        synchronized (seen) {
          seen.add(new AddIdentity(request.keyType(), request.keyMaterial().clone(), request.comment(), request.constraints()));
        }
      }
    };
    Path dir = Files.createTempDirectory(workDir, "cap");
    Path socket = dir.resolve("s");
    try (AgentServer server = new AgentServer("capture", socket,
        new RequestDispatcher(recorder, new AgentLock(Duration.ofSeconds(1)), () -> {}), 4, Set.of())) {
      server.start();
      List<String> cmd = new ArrayList<>();
      cmd.add("/usr/bin/ssh-add");
      cmd.addAll(List.of(sshAddArgs));
      cmd.add(keyFile.toString());
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("SSH_AUTH_SOCK", socket.toString());
      pb.environment().remove("SSH_ASKPASS");
      pb.environment().remove("DISPLAY");
      pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new AssertionError("ssh-add " + String.join(" ", cmd) + " failed: " + out);
      }
    }
    synchronized (seen) {
      return List.copyOf(seen);
    }
  }

  /** The single add request {@code ssh-add} sent for an unencrypted private key file. */
  public static AddIdentity captureOne(Path workDir, Path keyFile, String... sshAddArgs) throws Exception {
    List<AddIdentity> all = capture(workDir, keyFile, sshAddArgs);
    // ssh-add also adds KEY-cert.pub when it sits next to the key; the plain key comes first.
    if (all.isEmpty()) {
      throw new AssertionError("ssh-add sent no key");
    }
    return all.get(0);
  }
}
