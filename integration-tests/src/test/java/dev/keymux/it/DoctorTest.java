package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.client.AgentClient;
import dev.keymux.testing.OpenSshAgent;
import dev.keymux.testing.Proc;
import dev.keymux.testing.SilentPeer;
import dev.keymux.testing.SshAgentAt;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/** `keymux doctor` against real situations: keymux running, another agent owning SSH_AUTH_SOCK, stale sockets. */
class DoctorTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir Path dir;

  /** keymux doctor on a stand-in machine without sudo or systemd, so this machine's own setup stays out. */
  private Proc.Result doctor(Map<String, String> env, Path conf) throws Exception {
    Path machine = Files.createDirectories(dir.resolve("machine"));
    List<String> cmd = KeymuxProcess.command("doctor", "--config", conf.toString(), "--system-root", machine.toString());
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
    staleSocket(stale);
    Files.writeString(staleDir.resolve("agent.42.log"), "keymux agent's log beside its socket: not a socket\n");

    Map<String, String> env = new HashMap<>(KeymuxProcess.cleanEnv(dir));
    env.put("TMPDIR", tmp.toString());
    env.put("XDG_RUNTIME_DIR", run.toString());

    // keymux not running, SSH_AUTH_SOCK unset.
    Proc.Result none = doctor(env, conf);
    assertEquals(1, none.exitCode(), none.toString());
    assertTrue(none.stdout().contains("keymux is not running on " + ours), none.stdout());
    assertTrue(none.stdout().contains("SSH_AUTH_SOCK is not set"), none.stdout());
    assertTrue(none.stdout().contains("stale agent socket " + stale) && none.stdout().contains("rm " + stale), none.stdout());
    assertFalse(none.stdout().contains("agent.42.log"), "only sockets are agent sockets: " + none.stdout());

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

  /** A socket file nothing listens on any more, as a crashed agent leaves it. */
  private static void staleSocket(Path path) throws Exception {
    Files.createDirectories(path.getParent());
    AFUNIXServerSocket s = AFUNIXServerSocket.newInstance();
    s.bind(AFUNIXSocketAddress.of(path.toFile()));
    s.setDeleteOnClose(false);
    s.close();
  }

  private final List<SshAgentAt> agents = new ArrayList<>();

  @AfterEach
  void stopAgents() throws Exception {
    for (SshAgentAt a : agents) {
      a.close();
    }
  }

  /** A real ssh-agent bound at exactly {@code socket}. */
  private Path sshAgentAt(Path socket) throws Exception {
    SshAgentAt a = SshAgentAt.start(socket);
    agents.add(a);
    return a.socket();
  }

  /** A runtime dir, a config naming keymux's socket in it, and doctor's environment. */
  private Map<String, String> sessionEnv(Path run, Path conf) throws Exception {
    Files.createDirectories(run);
    Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwx------"));
    Files.writeString(conf, "keymux.socket.path = \"" + run.resolve("agent.sock") + "\"\nkeymux.backends.files = null\n");
    Map<String, String> env = new HashMap<>(KeymuxProcess.cleanEnv(dir));
    env.put("TMPDIR", Files.createDirectories(dir.resolve("tmp")).toString());
    env.put("XDG_RUNTIME_DIR", run.toString());
    return env;
  }

  /** Doctor's verdict when SSH_AUTH_SOCK is a real agent at {@code where} under XDG_RUNTIME_DIR. */
  private String gnomeOwnsTheSocket(String where) throws Exception {
    Path run = dir.resolve("run");
    Path conf = dir.resolve("k.conf");
    Map<String, String> env = sessionEnv(run, conf);
    env.put("SSH_AUTH_SOCK", sshAgentAt(run.resolve(where)).toString());
    Proc.Result r = doctor(env, conf);
    assertEquals(1, r.exitCode(), r.toString());
    return r.stdout().replace(run.resolve(where).toString(), "SOCK");
  }

  @Test
  void gcrSshAgentOwningTheSocketGetsTheSystemdFix() throws Exception {
    String out = gnomeOwnsTheSocket("gcr/ssh");
    assertTrue(out.contains("SSH_AUTH_SOCK points at GNOME's gcr-ssh-agent (SOCK)"), out);
    assertTrue(out.contains("systemctl --user disable --now gcr-ssh-agent.socket"), out);
    assertFalse(out.contains("gnome-keyring-ssh.desktop"), "the autostart trick does not stop gcr: " + out);
  }

  @Test
  void gnomeKeyringOwningTheSocketGetsTheAutostartFix() throws Exception {
    String out = gnomeOwnsTheSocket("keyring/ssh");
    assertTrue(out.contains("SSH_AUTH_SOCK points at GNOME Keyring's agent (SOCK)"), out);
    assertTrue(out.contains("echo Hidden=true >> ~/.config/autostart/gnome-keyring-ssh.desktop"), out);
    assertFalse(out.contains("systemctl"), out);
  }

  @Test
  void cleanRemovesOnlyDeadSocketsOfOursAndTheDirectoriesTheyEmpty() throws Exception {
    Path run = dir.resolve("run");
    Path conf = dir.resolve("k.conf");
    Map<String, String> env = sessionEnv(run, conf);
    Path tmp = Path.of(env.get("TMPDIR"));
    Path live = sshAgentAt(tmp.resolve("ssh-live0001").resolve("agent.1"));
    Path dead = tmp.resolve("ssh-dead0001").resolve("agent.2");
    staleSocket(dead);
    Path deadBesideAFile = tmp.resolve("ssh-dead0002").resolve("agent.3");
    staleSocket(deadBesideAFile);
    Path file = Files.writeString(deadBesideAFile.resolveSibling("notes.txt"), "someone's file\n");
    Path foreign = tmp.resolve("ssh-foreign01").resolve("agent.4");
    staleSocket(foreign);
    Files.setAttribute(foreign.getParent(), "unix:uid", 4244);
    Files.setAttribute(foreign, "unix:uid", 4244);
    Proc.Result r = Proc.run(T, env, KeymuxProcess.command("doctor", "--clean", "--config", conf.toString(), "--system-root",
        Files.createDirectories(dir.resolve("machine")).toString()).toArray(String[]::new));
    assertTrue(r.stdout().contains("OK       removed the stale agent socket " + dead + " and its empty directory"), r.stdout());
    assertTrue(r.stdout().contains("OK       removed the stale agent socket " + deadBesideAFile + "\n"), r.stdout());
    assertFalse(Files.exists(dead.getParent()), "emptied, so removed");
    assertFalse(Files.exists(deadBesideAFile), r.stdout());
    assertTrue(Files.exists(file), "a regular file is never removed");
    assertTrue(Files.exists(live) && AgentClient.answers(live), "a live agent's socket stays");
    assertTrue(Files.exists(foreign), "another uid's directory is not looked into: " + r.stdout());
    assertFalse(r.stdout().contains(foreign.toString()), r.stdout());
  }

  @Test
  void aLiveStrayAgentInTmpIsFound() throws Exception {
    Path run = dir.resolve("run");
    Path conf = dir.resolve("k.conf");
    Map<String, String> env = sessionEnv(run, conf);
    Path stray = sshAgentAt(Path.of(env.get("TMPDIR")).resolve("ssh-XXXXk3yMuX").resolve("agent.4242"));
    Proc.Result r = doctor(env, conf);
    assertTrue(r.stdout().contains("NOTE     another agent answers on " + stray + "; to use its keys through keymux"), r.stdout());
    assertFalse(r.stdout().contains("stale agent socket " + stray), r.stdout());
  }

  @Test
  void aKeymuxWithAHungUpstreamIsNotTakenForStale() throws Exception {
    Path run = dir.resolve("run");
    Path conf = dir.resolve("k.conf");
    Map<String, String> env = sessionEnv(run, conf);
    Path hung = dir.resolve("hung/agent.sock");
    Files.createDirectories(hung.getParent());
    try (SilentPeer silent = new SilentPeer(hung)) {
      Files.writeString(conf, Files.readString(conf) + "keymux.backends.hung { type = agent, socket = \"" + hung + "\" }\n");
      try (KeymuxProcess keymux = KeymuxProcess.start(dir, Map.of("XDG_RUNTIME_DIR", run.toString()), "--config", conf.toString())) {
        env.put("SSH_AUTH_SOCK", keymux.socket.toString());
        Proc.Result r = doctor(env, conf);
        assertTrue(r.stdout().contains("OK       keymux answers on " + keymux.socket), r.stdout());
        assertTrue(r.stdout().contains("OK       SSH_AUTH_SOCK points at keymux"), r.stdout());
        assertFalse(r.stdout().contains("stale"), r.stdout());
      }
    }
  }

  @Test
  void severalAgentsAndAStaleSshAuthSockAreEachNamed() throws Exception {
    Path run = dir.resolve("run");
    Path conf = dir.resolve("k.conf");
    Map<String, String> env = sessionEnv(run, conf);
    Path gpg = sshAgentAt(run.resolve("gnupg/S.gpg-agent.ssh"));
    Path stray = sshAgentAt(Path.of(env.get("TMPDIR")).resolve("ssh-AbCd1234").resolve("agent.77"));
    Path dead = dir.resolve("crashed/agent.sock");
    staleSocket(dead);
    env.put("SSH_AUTH_SOCK", dead.toString());
    Proc.Result r = doctor(env, conf);
    assertEquals(1, r.exitCode(), r.toString());
    assertTrue(r.stdout().contains("PROBLEM  SSH_AUTH_SOCK=" + dead + " leads to no agent (stale)\n         fix: eval \"$(keymux env)\""),
        r.stdout());
    assertTrue(r.stdout().contains("NOTE     another agent answers on " + gpg + "; to use its keys through keymux"), r.stdout());
    assertTrue(r.stdout().contains("NOTE     another agent answers on " + stray + "; to use its keys through keymux"), r.stdout());
    assertTrue(r.stdout().contains("2 problem(s) found."), "keymux not running, stale SSH_AUTH_SOCK; the agents are notes: " + r.stdout());
  }
}
