package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keymux agent} used exactly like OpenSSH's ssh-agent, from a shell. */
class AgentDropInTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir Path dir;

  private String keymux() {
    return String.join(" ", KeymuxProcess.command().stream().map(s -> "'" + s + "'").toList());
  }

  private Proc.Result sh(String script) {
    Map<String, String> env = KeymuxProcess.cleanEnv(dir);
    env.put("SHELL", "/bin/sh");
    env.put("TMPDIR", dir.toString());
    return Proc.run(T, env, "/bin/sh", "-c", script);
  }

  @Test
  void evalStartsAnAgentThatSshAddUsesAndDashKKillsIt() throws Exception {
    Path key = TestKeys.generate(dir, "id", "ed25519", "dropin");
    Proc.Result r = sh("set -e\n"
        + "eval \"$(" + keymux() + " agent -s)\"\n"
        + "echo SOCK=$SSH_AUTH_SOCK PID=$SSH_AGENT_PID\n"
        + "ssh-add -l || echo empty-exit=$?\n"
        + "ssh-add '" + key + "'\n"
        + "ssh-add -l\n"
        + "eval \"$(" + keymux() + " agent -k)\"\n"
        + "echo after-kill=${SSH_AGENT_PID:-unset}\n").assertOk();
    String out = r.stdout();
    assertTrue(out.contains("Agent pid"), out);
    assertTrue(out.contains("empty-exit=1"), out);
    assertTrue(out.contains(TestKeys.fingerprint(key)), out);
    assertTrue(out.contains("after-kill=unset"), out);
    Matcher m = Pattern.compile("SOCK=(\\S+) PID=(\\d+)").matcher(out);
    assertTrue(m.find(), out);
    Path socket = Path.of(m.group(1));
    long pid = Long.parseLong(m.group(2));
    assertTrue(socket.startsWith(dir), "socket in $TMPDIR/ssh-XXXX like ssh-agent: " + socket);
    assertTrue(socket.getFileName().toString().startsWith("agent."), socket.toString());
    long deadline = System.currentTimeMillis() + 15_000;
    while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    assertEquals(Optional.empty(), ProcessHandle.of(pid).filter(ProcessHandle::isAlive), "SSH_AGENT_PID was the daemon and it is gone");
    assertFalse(Files.exists(socket), "socket removed");
    assertFalse(Files.exists(socket.getParent()), "and the directory made for it, as ssh-agent does");
  }

  @Test
  void everyWayAnAgentEndsLeavesNoSocketDirectoryOrLog() throws Exception {
    // SIGTERM to a background agent (like ssh-agent, a background agent ignores SIGINT).
    Proc.Result r0 = sh("eval \"$(" + keymux() + " agent -s)\" >/dev/null\n"
        + "ssh-add -l >/dev/null; echo \"$SSH_AUTH_SOCK $SSH_AGENT_PID\"; kill -TERM $SSH_AGENT_PID\n").assertOk();
    String[] f = r0.stdout().trim().split(" ");
    awaitGone(Long.parseLong(f[1]));
    assertFalse(Files.exists(Path.of(f[0]).getParent()), "SIGTERM: " + Path.of(f[0]).getParent() + " is gone");
    // Ctrl-C (SIGINT) to an agent in the foreground (-D).
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/env", "--default-signal=INT,HUP", "TMPDIR=" + dir, "SHELL=/bin/sh"));
    cmd.addAll(KeymuxProcess.command("agent", "-D"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
    pb.environment().clear();
    pb.environment().putAll(KeymuxProcess.cleanEnv(dir));
    Process fg = pb.start();
    try {
      String first = new java.io.BufferedReader(new java.io.InputStreamReader(fg.getInputStream())).readLine();
      Matcher sock = Pattern.compile("SSH_AUTH_SOCK=([^;]+);").matcher(first == null ? "" : first);
      assertTrue(sock.find(), "agent -D prints the environment first: " + first);
      Proc.run(T, Map.of(), "/bin/kill", "-INT", Long.toString(fg.pid())).assertOk();
      awaitGone(fg.pid());
      assertFalse(Files.exists(Path.of(sock.group(1)).getParent()), "SIGINT: the directory is gone");
    } finally {
      fg.destroyForcibly();
    }
    sh(keymux() + " agent sh -c 'test -S \"$SSH_AUTH_SOCK\"'").assertOk(); // the command's end ends the agent
    long deadline = System.currentTimeMillis() + 15_000;
    while (leftovers().size() > 0 && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    assertEquals(List.of(), leftovers(), "nothing of an ended agent is left in $TMPDIR");

    // --log keeps the agent's log where it is asked to, and only there.
    Path log = dir.resolve("agent.log");
    Proc.Result r = sh("eval \"$(" + keymux() + " agent -s --log '" + log + "')\" >/dev/null\n"
        + "echo $SSH_AGENT_PID; eval \"$(" + keymux() + " agent -k)\" >/dev/null\n").assertOk();
    awaitGone(Long.parseLong(r.stdout().trim()));
    assertTrue(Files.readString(log).contains("keymux serving"), Files.readString(log));
    assertEquals(List.of(), leftovers());
  }

  private List<String> leftovers() throws Exception {
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("ssh-")).sorted().toList();
    }
  }

  private static void awaitGone(long pid) throws Exception {
    long deadline = System.currentTimeMillis() + 15_000;
    while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    assertEquals(Optional.empty(), ProcessHandle.of(pid).filter(ProcessHandle::isAlive), "agent " + pid + " ended");
  }

  @Test
  void cshOutputAndBindAddress() throws Exception {
    Path socket = dir.resolve("my.sock");
    Proc.Result r = sh(keymux() + " agent -c -a '" + socket + "'").assertOk();
    assertTrue(r.stdout().startsWith("setenv SSH_AUTH_SOCK " + socket + ";"), r.stdout());
    Matcher m = Pattern.compile("setenv SSH_AGENT_PID (\\d+);").matcher(r.stdout());
    assertTrue(m.find(), r.stdout());
    Proc.Result k = sh("SSH_AGENT_PID=" + m.group(1) + " " + keymux() + " agent -c -k").assertOk();
    assertTrue(k.stdout().contains("unsetenv SSH_AUTH_SOCK;"), k.stdout());
  }

  @Test
  void subprocessModeRunsTheCommandWithTheAgentAndPassesItsExitCode() throws Exception {
    Path key = TestKeys.generate(dir, "id", "ecdsa-256", "sub");
    Proc.Result r = sh(keymux() + " agent sh -c 'ssh-add \"" + key + "\" 2>/dev/null && ssh-add -l && exit 7'");
    assertEquals(7, r.exitCode(), r.toString());
    assertTrue(r.stdout().contains(TestKeys.fingerprint(key)), r.stdout());
  }

  @Test
  void dashTGivesAddedKeysADefaultLifetime() throws Exception {
    Path key = TestKeys.generate(dir, "id", "ed25519", "short");
    Proc.Result r = sh(keymux() + " agent -t 2 sh -c 'ssh-add \"" + key + "\" && ssh-add -l >/dev/null && sleep 3; ssh-add -l'");
    assertEquals(1, r.exitCode(), "the key expired after 2 s: " + r);
  }

  @Test
  void killWithoutAnAgentFailsClearly() {
    Proc.Result r = sh(keymux() + " agent -k");
    assertEquals(1, r.exitCode());
    assertTrue(r.stderr().contains("SSH_AGENT_PID not set"), r.stderr());
  }

  @Test
  void foregroundModePrintsTheEnvironmentAndServes() throws Exception {
    Path socket = dir.resolve("fg.sock");
    List<String> cmd = new java.util.ArrayList<>(KeymuxProcess.command("agent", "-D", "-s", "-a", socket.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(KeymuxProcess.cleanEnv(dir));
    Process p = pb.redirectErrorStream(false).start();
    try {
      var reader = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()));
      String first = reader.readLine();
      assertEquals("SSH_AUTH_SOCK=" + socket + "; export SSH_AUTH_SOCK;", first);
      assertEquals("SSH_AGENT_PID=" + p.pid() + "; export SSH_AGENT_PID;", reader.readLine());
      Map<String, String> env = KeymuxProcess.cleanEnv(dir);
      env.put("SSH_AUTH_SOCK", socket.toString());
      assertEquals(1, Proc.run(T, env, "/usr/bin/ssh-add", "-l").exitCode());
    } finally {
      p.destroy();
      p.waitFor();
    }
  }

  @Test
  void versionAndHelp() {
    Proc.Result v = sh(keymux() + " --version").assertOk();
    assertTrue(v.stdout().startsWith("keymux "), v.stdout());
    Proc.Result h = sh(keymux() + " agent --help").assertOk();
    assertTrue(h.stdout().contains("-t=LIFE") || h.stdout().contains("-t LIFE"), h.stdout());
    Proc.Result c = sh(keymux() + " generate-completion").assertOk();
    assertTrue(c.stdout().contains("complete"), "bash completion script");
  }

  @Test
  void envPrintsAGuardedExportLine() {
    Proc.Result r = sh("unset XDG_RUNTIME_DIR; eval \"$(" + keymux() + " env)\"; echo \"$SSH_AUTH_SOCK\"").assertOk();
    assertTrue(r.stdout().trim().endsWith("/agent.sock"), r.stdout());
    assertTrue(r.stdout().contains("/tmp/keymux-"), r.stdout());
    Proc.Result x = sh("XDG_RUNTIME_DIR=/run/user/1234; export XDG_RUNTIME_DIR; eval \"$(" + keymux() + " env)\"; echo \"$SSH_AUTH_SOCK\"").assertOk();
    assertEquals("/run/user/1234/keymux/agent.sock", x.stdout().trim());
  }
}
