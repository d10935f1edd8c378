package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.OpenSshAgent;
import dev.keymux.testing.Proc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/** `keymux doctor` against real situations: keymux running, another agent owning SSH_AUTH_SOCK, stale sockets. */
class DoctorTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir Path dir;

  private Proc.Result doctor(Map<String, String> env, Path conf) {
    List<String> cmd = KeymuxProcess.command("doctor", "--config", conf.toString());
    return Proc.run(T, env, cmd.toArray(String[]::new));
  }

  @Test
  void findsWhoOwnsTheSocketAndStrayAgents() throws Exception {
    Path run = Files.createDirectories(dir.resolve("run"));
    Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwx------"));
    Path conf = dir.resolve("k.conf");
    Path ours = run.resolve("agent.sock"); // where KeymuxProcess serves
    Files.writeString(conf, "keymux.socket.path = \"" + ours + "\"\nkeymux.backends.files = null\n");
    // A stale ssh-agent socket in our TMPDIR: the directory and file stay, nothing answers.
    Path tmp = Files.createDirectories(dir.resolve("tmp"));
    Path staleDir = Files.createDirectories(tmp.resolve("ssh-stale123"));
    Path stale = staleDir.resolve("agent.42");
    AFUNIXServerSocket s = AFUNIXServerSocket.newInstance();
    s.bind(AFUNIXSocketAddress.of(stale.toFile()));
    s.setDeleteOnClose(false);
    s.close();

    Map<String, String> env = new HashMap<>(KeymuxProcess.cleanEnv(dir));
    env.put("TMPDIR", tmp.toString());
    env.put("XDG_RUNTIME_DIR", run.toString());

    // keymux not running, SSH_AUTH_SOCK unset.
    Proc.Result none = doctor(env, conf);
    assertEquals(1, none.exitCode(), none.toString());
    assertTrue(none.stdout().contains("keymux is not running on " + ours), none.stdout());
    assertTrue(none.stdout().contains("SSH_AUTH_SOCK is not set"), none.stdout());
    assertTrue(none.stdout().contains("stale agent socket " + stale) && none.stdout().contains("rm " + stale), none.stdout());

    try (KeymuxProcess keymux = KeymuxProcess.start(dir, Map.of("XDG_RUNTIME_DIR", run.toString()), "--config", conf.toString());
        OpenSshAgent other = OpenSshAgent.start()) {
      Files.delete(stale);
      env.put("SSH_AUTH_SOCK", keymux.socket.toString());
      Proc.Result good = doctor(env, conf);
      assertEquals(0, good.exitCode(), good.toString());
      assertTrue(good.stdout().contains("OK       keymux answers on " + ours), good.stdout());
      assertTrue(good.stdout().contains("OK       SSH_AUTH_SOCK points at keymux"), good.stdout());

      env.put("SSH_AUTH_SOCK", other.socket().toString());
      Proc.Result hijacked = doctor(env, conf);
      assertEquals(1, hijacked.exitCode());
      assertTrue(hijacked.stdout().contains("SSH_AUTH_SOCK points at another agent"), hijacked.stdout());
      assertTrue(hijacked.stdout().contains("type = agent, socket = \"" + other.socket() + "\""), hijacked.stdout());
    }
  }
}
