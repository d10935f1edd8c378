package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.Sshd;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keymux ci start} in an empty environment (no XDG, no D-Bus, no desktop), two deploy keys
 * in KEYMUX_KEYS each tagged with its repository, and git cloning both repositories over ssh from
 * two loopback sshds that each accept only their repository's key and give up after the first
 * wrong key (MaxAuthTries 1): both clones succeed only if keymux offers each repository its key.
 */
class HeadlessCiTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir Path dir;

  @Test
  void ciStartServesEachRepositoryItsDeployKeyAndCiStopEndsIt() throws Exception {
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed (apt-get install openssh-server)");
    Path home = Files.createDirectories(dir.resolve("home"));
    Path keys = Files.createDirectories(dir.resolve("keys"));
    Path keyA = TestKeys.generate(keys, "deploy_a", "ed25519", "deploy a");
    Path keyB = TestKeys.generate(keys, "deploy_b", "ecdsa-256", "deploy b");
    Path repoA = bareRepo("repo-a.git");
    Path repoB = bareRepo("repo-b.git");
    String user = System.getProperty("user.name");
    try (Sshd sshdA = sshdFor("a", keyA); Sshd sshdB = sshdFor("b", keyB)) {
      String urlA = "ssh://" + user + "@127.0.0.1:" + sshdA.port() + repoA;
      String urlB = "ssh://" + user + "@127.0.0.1:" + sshdB.port() + repoB;
      // Key A first: without the repository rules, sshd B would see key A and hang up.
      String keysText = "# repo: " + urlA + "\n" + Files.readString(keyA) + "# repo: " + urlB.replace(".git", "") + "\n"
          + Files.readString(keyB);

      Proc.Result started = ci(home, Map.of("KEYMUX_KEYS", keysText), "start");
      started.assertOk();
      assertTrue(started.stdout().matches("(?s)SSH_AUTH_SOCK=\\S+; export SSH_AUTH_SOCK;\nSSH_AGENT_PID=\\d+; export SSH_AGENT_PID;\n"
          + "echo Agent pid \\d+;\n"), started.toString());
      Proc.Result evaluated = Proc.run(T, Map.of(), "/bin/sh", "-c",
          "eval \"$1\" >/dev/null && printf '%s\\n%s\\n' \"$SSH_AUTH_SOCK\" \"$SSH_AGENT_PID\"", "sh", started.stdout()).assertOk();
      String[] vars = evaluated.stdout().split("\n");
      Path socket = Path.of(vars[0]);
      long pid = Long.parseLong(vars[1]);
      try {
        assertTrue(Files.exists(socket), "socket " + socket);
        String environ = Files.readString(Path.of("/proc", Long.toString(pid), "environ")).replace('\0', '\n');
        assertFalse(environ.contains("KEYMUX_KEYS"), "the agent's environment must not hold the keys:\n" + environ);
        assertFalse(environ.contains("PRIVATE KEY"), "the agent's environment must not hold the keys");

        Map<String, String> agentEnv = Map.of("SSH_AUTH_SOCK", socket.toString(), "HOME", home.toString());
        // Tagged keys are for git's ssh only: ssh-add lists nothing.
        Proc.Result listed = Proc.run(T, agentEnv, "/usr/bin/ssh-add", "-l");
        assertEquals(1, listed.exitCode(), listed.toString());

        clone(sshdA, agentEnv, urlA, dir.resolve("clone-a"));
        clone(sshdB, agentEnv, urlB, dir.resolve("clone-b"));
        // A repository no key is tagged with gets no key: sshd A refuses repo B's path.
        Proc.Result wrong = gitClone(sshdA, agentEnv, "ssh://" + user + "@127.0.0.1:" + sshdA.port() + repoB, dir.resolve("clone-x"));
        assertNotEquals(0, wrong.exitCode(), wrong.toString());

        Proc.Result stopped = ci(home, Map.of("SSH_AUTH_SOCK", socket.toString(), "SSH_AGENT_PID", Long.toString(pid)), "stop");
        stopped.assertOk();
        assertEquals("unset SSH_AUTH_SOCK;\nunset SSH_AGENT_PID;\necho Agent pid " + pid + " killed;\n", stopped.stdout());
        assertFalse(Files.exists(socket), "socket removed: " + socket);
        assertFalse(Files.exists(socket.getParent()), "socket directory removed: " + socket.getParent());
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "agent pid " + pid + " ended");
      } finally {
        stop(pid, socket);
      }
    }
  }

  @Test
  void aKeyWithAPassphraseFailsAtStartWithAClearMessage() throws Exception {
    Path home = Files.createDirectories(dir.resolve("home"));
    Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), "locked", "ed25519", "locked", "secret words");
    String text = Files.readString(key);
    Proc.Result r = ci(home, Map.of("KEYMUX_KEYS", text), "start");
    assertEquals(1, r.exitCode(), r.toString());
    assertEquals("", r.stdout(), r.toString());
    assertTrue(r.stderr().contains("KEYMUX_KEYS: key 1 (openssh-key-v1 (aes256-ctr)) is protected by a passphrase"), r.toString());
    assertNoKeyMaterial(text, r.stderr());

    // serve --headless reads KEYMUX_KEYS itself and stops the same way, without waiting for a prompt.
    List<String> serve = new ArrayList<>(List.of("/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=" + home,
        "KEYMUX_KEYS=" + text, "DISPLAY=:99", "SSH_ASKPASS=/bin/false"));
    serve.addAll(KeymuxProcess.command("serve", "--headless", "-a", dir.resolve("agent.sock").toString()));
    Proc.Result s = Proc.run(T, Map.of(), serve.toArray(String[]::new));
    assertEquals(1, s.exitCode(), s.toString());
    assertTrue(s.stderr().contains("KEYMUX_KEYS: key 1 (openssh-key-v1 (aes256-ctr)) is protected by a passphrase"), s.toString());
    assertNoKeyMaterial(text, s.stderr());
    assertFalse(Files.exists(dir.resolve("agent.sock")));
  }

  private static void assertNoKeyMaterial(String key, String output) {
    for (String line : key.split("\n")) {
      if (!line.startsWith("-----")) {
        assertFalse(output.contains(line), "key material in the message:\n" + output);
      }
    }
  }

  /** {@code env -i PATH=/usr/bin:/bin HOME=home [vars] java -jar keymux.jar ci ARGS}: nothing else. */
  private static Proc.Result ci(Path home, Map<String, String> vars, String... args) {
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=" + home));
    vars.forEach((k, v) -> cmd.add(k + "=" + v));
    cmd.addAll(KeymuxProcess.command("ci"));
    cmd.addAll(List.of(args));
    return Proc.run(T, Map.of(), cmd.toArray(String[]::new));
  }

  private Path bareRepo(String name) {
    Path repo = dir.resolve(name);
    Proc.run(T, Map.of(), "/usr/bin/git", "init", "-q", "--bare", repo.toString()).assertOk();
    return repo;
  }

  /** An sshd that accepts only {@code key} and hangs up after the first key it refuses. */
  private Sshd sshdFor(String name, Path key) throws Exception {
    Path authorizedKeys = dir.resolve("authorized_keys_" + name);
    Files.writeString(authorizedKeys, TestKeys.publicLine(key) + "\n");
    return Sshd.start(Files.createDirectories(dir.resolve("sshd-" + name)), authorizedKeys, List.of("MaxAuthTries 1"));
  }

  private void clone(Sshd sshd, Map<String, String> agentEnv, String url, Path target) {
    Proc.Result r = gitClone(sshd, agentEnv, url, target);
    r.assertOk();
    assertTrue(Files.isDirectory(target.resolve(".git")), r.toString());
  }

  private Proc.Result gitClone(Sshd sshd, Map<String, String> agentEnv, String url, Path target) {
    // git adds -p PORT, the host and the remote command itself.
    List<String> ssh = sshd.sshCommand("true", "-o", "IdentityFile=" + dir.resolve("no-such-identity"));
    List<String> options = new ArrayList<>(ssh.subList(0, ssh.size() - 2));
    int p = options.indexOf("-p");
    options.remove(p + 1);
    options.remove(p);
    Map<String, String> env = new HashMap<>(agentEnv);
    env.put("GIT_SSH_COMMAND", String.join(" ", options));
    return Proc.run(T, env, "/usr/bin/git", "clone", "-q", url, target.toString());
  }

  /** After a failure before {@code ci stop}: ends the agent and removes what it left in /tmp. */
  private static void stop(long pid, Path socket) throws Exception {
    Optional<ProcessHandle> agent = ProcessHandle.of(pid);
    if (agent.isPresent() && agent.get().isAlive()) {
      agent.get().destroy();
      agent.get().onExit().get(10, TimeUnit.SECONDS);
    }
    Path socketDir = socket.getParent();
    if (Files.isDirectory(socketDir) && socketDir.getFileName().toString().startsWith("ssh-")) {
      try (var files = Files.list(socketDir)) {
        for (Path f : files.toList()) {
          Files.delete(f);
        }
      }
      Files.delete(socketDir);
    }
  }
}
