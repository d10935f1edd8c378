package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.SilentPeer;
import dev.keymux.testing.SshAgentAt;
import dev.keymux.testing.Sshd;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/** Other agents behind keymux: a real OpenSSH ssh-agent and a second keymux as upstreams. */
class UpstreamAgentTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir Path dir;
  final List<SshAgentAt> agents = new ArrayList<>();

  @AfterEach
  void stopAgents() throws Exception {
    for (SshAgentAt a : agents) {
      a.close();
    }
  }

  /** A real ssh-agent on a fixed socket path (so it can be restarted at the same place). */
  private Path sshAgent(Path socket) throws Exception {
    agents.add(SshAgentAt.start(socket));
    return socket;
  }

  private static Map<String, String> sock(Path socket) {
    return Map.of("SSH_AUTH_SOCK", socket.toString());
  }

  private KeymuxProcess keymux(String name, String config) throws Exception {
    Path conf = dir.resolve(name + ".conf");
    Files.writeString(conf, "keymux.backends.files = null\n" + config);
    return KeymuxProcess.start(Files.createDirectories(dir.resolve(name)), Map.of(), "--config", conf.toString());
  }

  private static String upstream(String name, Path socket) {
    return "keymux.backends." + name + " { type = agent, socket = \"" + socket + "\" }\n";
  }

  private void signAndVerify(KeymuxProcess k, Path key) throws Exception {
    Path data = dir.resolve("data-" + key.getFileName());
    Files.writeString(data, "through keymux\n");
    Files.deleteIfExists(Path.of(data + ".sig"));
    Proc.run(T, k.env(), "/usr/bin/ssh-keygen", "-Y", "sign", "-f", key + ".pub", "-n", "file", data.toString()).assertOk();
    Path allowed = dir.resolve("allowed-" + key.getFileName());
    Files.writeString(allowed, "t " + TestKeys.publicLine(key) + "\n");
    Proc.run(T, Map.of(), "/bin/sh", "-c", "/usr/bin/ssh-keygen -Y verify -f " + allowed + " -I t -n file -s " + data
        + ".sig < " + data).assertOk();
  }

  /** What `keymux list` prints, keys and backend health. */
  private String keymuxList(KeymuxProcess k) {
    return Proc.run(T, k.env(), KeymuxProcess.command("list").toArray(String[]::new)).stdout();
  }

  private String listed(KeymuxProcess k) {
    return Proc.run(T, k.env(), "/usr/bin/ssh-add", "-l").stdout();
  }

  @Test
  void keysOfAnSshAgentAndOfAnotherKeymuxAreListedAndSign() throws Exception {
    Path a = sshAgent(dir.resolve("a/agent.sock"));
    Path keyA = TestKeys.generate(dir, "id_a", "ed25519", "in ssh-agent");
    Proc.run(T, sock(a), "/usr/bin/ssh-add", keyA.toString()).assertOk();
    try (KeymuxProcess b = keymux("b", "")) {
      Path keyB = TestKeys.generate(dir, "id_b", "ecdsa-256", "in keymux b");
      Proc.run(T, b.env(), "/usr/bin/ssh-add", keyB.toString()).assertOk();
      try (KeymuxProcess m = keymux("m", upstream("ssh", a) + upstream("other", b.socket))) {
        String l = listed(m);
        assertTrue(l.contains(TestKeys.fingerprint(keyA)) && l.contains(TestKeys.fingerprint(keyB)), l);
        signAndVerify(m, keyA);
        signAndVerify(m, keyB);
        String list = Proc.run(T, m.env(), KeymuxProcess.command("list").toArray(String[]::new)).assertOk().stdout();
        assertTrue(list.contains(" ssh") && list.contains(" other"), list);
        // No GNOME here (no XDG_RUNTIME_DIR): the default `gnome` backend is calm, not an error.
        assertTrue(list.contains("note: backend gnome: GNOME Keyring not running"), list);
        assertFalse(list.contains("backend gnome: upstream unavailable") || list.contains("nonexistent"), list);
      }
    }
  }

  /**
   * SIGTERM: ssh-agent removes its socket. SIGKILL: the socket file stays and connecting is
   * refused. Either way the upstream's keys vanish, keymux list says it is down, keymux's own keys
   * keep working, and it is back when restarted.
   */
  @ParameterizedTest
  @ValueSource(strings = {"SIGTERM", "SIGKILL"})
  void aDeadUpstreamVanishesAndComesBackWhenRestarted(String signal) throws Exception {
    Path a = sshAgent(dir.resolve("a/agent.sock"));
    Path keyA = TestKeys.generate(dir, "id_a", "ed25519", "upstream");
    Proc.run(T, sock(a), "/usr/bin/ssh-add", keyA.toString()).assertOk();
    try (KeymuxProcess m = keymux("m", upstream("ssh", a))) {
      Path own = TestKeys.generate(dir, "id_own", "ed25519", "own");
      Proc.run(T, m.env(), "/usr/bin/ssh-add", own.toString()).assertOk();
      assertTrue(listed(m).contains(TestKeys.fingerprint(keyA)));

      if (signal.equals("SIGKILL")) {
        agents.get(0).kill();
        assertTrue(Files.exists(a), "the stale socket file remains");
      } else {
        agents.get(0).stop();
      }
      String after = listed(m);
      assertFalse(after.contains(TestKeys.fingerprint(keyA)), after);
      String health = keymuxList(m);
      assertTrue(health.contains("backend ssh: upstream unavailable"), "keymux list shows upstream health: " + health);
      if (signal.equals("SIGKILL")) {
        assertTrue(health.contains("Connection refused"), health);
      }
      assertTrue(after.contains(TestKeys.fingerprint(own)), "other keys keep working: " + after);
      signAndVerify(m, own);

      sshAgent(a);
      Proc.run(T, sock(a), "/usr/bin/ssh-add", keyA.toString()).assertOk();
      long t0 = System.currentTimeMillis();
      while (!listed(m).contains(TestKeys.fingerprint(keyA)) && System.currentTimeMillis() - t0 < 15_000) {
        Thread.sleep(200);
      }
      assertTrue(listed(m).contains(TestKeys.fingerprint(keyA)), m.log());
      signAndVerify(m, keyA);
      assertTrue(m.log().contains("answers again"), m.log());
      assertFalse(keymuxList(m).contains("backend ssh:"), "healthy again");
    }
  }

  @Test
  void anUpstreamThatNeverAnswersDoesNotHoldUpTheList() throws Exception {
    Path hung = dir.resolve("hung/agent.sock");
    Files.createDirectories(hung.getParent());
    try (SilentPeer silent = new SilentPeer(hung)) {
      try (KeymuxProcess m = keymux("m", upstream("hung", hung))) {
        Path own = TestKeys.generate(dir, "id_own", "ed25519", "own");
        Proc.run(T, m.env(), "/usr/bin/ssh-add", own.toString()).assertOk();
        long t0 = System.nanoTime();
        String l = listed(m);
        long tookMillis = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(l.contains(TestKeys.fingerprint(own)), l);
        assertTrue(tookMillis < 4000, "list answered after " + tookMillis + " ms (backend timeout 2 s)");
      }
    }
  }

  @Test
  void anUpstreamThatAnswersGarbageIsSkipped() throws Exception {
    Path bad = dir.resolve("bad/agent.sock");
    Files.createDirectories(bad.getParent());
    try (AFUNIXServerSocket liar = AFUNIXServerSocket.newInstance()) {
      liar.bind(AFUNIXSocketAddress.of(bad.toFile()));
      Thread t = new Thread(() -> {
        try {
          while (true) {
            try (var c = liar.accept()) {
              c.getInputStream().read(new byte[64]);
              c.getOutputStream().write(new byte[] {0, 0, 0, 3, 99, 1, 2}); // a frame of an unknown type
              c.getOutputStream().flush();
              Thread.sleep(200);
            }
          }
        } catch (Exception e) {
          // closed
        }
      });
      t.setDaemon(true);
      t.start();
      try (KeymuxProcess m = keymux("m", upstream("liar", bad))) {
        Path own = TestKeys.generate(dir, "id_own", "ed25519", "own");
        Proc.run(T, m.env(), "/usr/bin/ssh-add", own.toString()).assertOk();
        String l = listed(m);
        assertTrue(l.contains(TestKeys.fingerprint(own)), l);
        signAndVerify(m, own);
        String list = Proc.run(T, m.env(), KeymuxProcess.command("list").toArray(String[]::new)).stdout();
        assertTrue(list.contains("backend liar: upstream unavailable") && list.contains("malformed reply"), list);
      }
    }
  }

  @Test
  void anUpstreamThatIsKeymuxItselfIsDisabled() throws Exception {
    // Direct: m's upstream is m's own socket.
    Path self = dir.resolve("m/run/agent.sock");
    try (KeymuxProcess m = keymux("m", upstream("self", self))) {
      Path own = TestKeys.generate(dir, "id_own", "ed25519", "own");
      Proc.run(T, m.env(), "/usr/bin/ssh-add", own.toString()).assertOk();
      assertTrue(listed(m).contains(TestKeys.fingerprint(own)));
      assertTrue(m.log().contains("leads back to this keymux"), m.log());
      String health = keymuxList(m);
      assertTrue(health.contains("backend self: loop: " + self + " leads back to this keymux; backend disabled"), health);
    }
    // Indirect: p -> q -> p.
    Path pSock = dir.resolve("p/run/agent.sock");
    Path qSock = dir.resolve("q/run/agent.sock");
    try (KeymuxProcess q = keymux("q", upstream("to-p", pSock)); KeymuxProcess p = keymux("p", upstream("to-q", qSock))) {
      Path own = TestKeys.generate(dir, "id_p", "ed25519", "p");
      Proc.run(T, p.env(), "/usr/bin/ssh-add", own.toString()).assertOk();
      String l = listed(p);
      assertTrue(l.contains(TestKeys.fingerprint(own)), l);
      assertTrue(p.log().contains("leads back to this keymux") || q.log().contains("leads back to this keymux"),
          p.log() + "\n---\n" + q.log());
      String health = keymuxList(p) + keymuxList(q);
      assertTrue(health.contains("backend to-q: loop: ") || health.contains("backend to-p: loop: "), health);
    }
  }

  @Test
  void sshAddGoesToTheConfiguredAddTarget() throws Exception {
    Path a = sshAgent(dir.resolve("a/agent.sock"));
    try (KeymuxProcess m = keymux("m", upstream("ssh", a) + "keymux.add-target = ssh\n")) {
      Path key = TestKeys.generate(dir, "id_t", "ed25519", "to upstream");
      Proc.run(T, m.env(), "/usr/bin/ssh-add", key.toString()).assertOk();
      assertTrue(Proc.run(T, sock(a), "/usr/bin/ssh-add", "-l").assertOk().stdout().contains(TestKeys.fingerprint(key)));
    }
  }

  @Test
  void destinationRestrictedKeysOfTheUpstreamWorkThroughKeymux() throws Exception {
    RealComponents.require("sshd", Sshd.available(), "/usr/sbin/sshd is not installed");
    Path key = TestKeys.generate(dir, "id_r", "ed25519", "restricted");
    Path authorized = dir.resolve("authorized_keys");
    Files.writeString(authorized, TestKeys.publicLine(key) + "\n");
    try (Sshd allowed = Sshd.start(Files.createDirectories(dir.resolve("sshd-allowed")), authorized);
        Sshd other = Sshd.start(Files.createDirectories(dir.resolve("sshd-other")), authorized)) {
      Path a = sshAgent(dir.resolve("a/agent.sock"));
      Path kh = dir.resolve("restrict_known_hosts");
      Files.writeString(kh, "allowed-host " + TestKeys.publicLine(allowed.hostKeyPub()) + "\n");
      Proc.run(T, sock(a), "/usr/bin/ssh-add", "-H", kh.toString(), "-h", "allowed-host", key.toString()).assertOk();
      try (KeymuxProcess m = keymux("m", upstream("ssh", a))) {
        List<String> ok = allowed.sshCommand("echo in", "-o", "IdentityFile=" + dir.resolve("none"));
        assertEquals("in", Proc.run(T, m.env(), ok.toArray(String[]::new)).assertOk().stdout().trim());
        List<String> refused = other.sshCommand("echo in", "-o", "IdentityFile=" + dir.resolve("none"));
        Proc.Result r = Proc.run(T, m.env(), refused.toArray(String[]::new));
        assertNotEquals(0, r.exitCode(), r.toString());
        assertTrue(r.stderr().contains("Permission denied (publickey"),
            "the upstream refuses the key for a host it is not restricted to: " + r);
      }
    }
  }
}
