package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.TestKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Scoped sockets in real containers (local image, networking off): the container mounts the
 * scoped socket's directory and sees only the deploy key — as root and as a non-root user the
 * socket lets in — signs with it (verified on the host), never sees the main socket's keys, and
 * is refused when its uid is not allowed. A socket with an expiry disappears on time.
 */
class ScopedSocketContainerTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir static Path dir;
  static KeymuxProcess keymux;
  static Path deployKey;
  static Path personal;
  static Path containerDir;
  static Path openDir;

  @BeforeAll
  static void start() throws Exception {
    boolean docker;
    String why = "no Docker engine answers";
    try {
      docker = DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException e) {
      docker = false;
      why = e.toString();
    }
    RealComponents.require("docker", docker, why);
    Path deploy = Files.createDirectories(dir.resolve("deploy"));
    deployKey = TestKeys.generate(deploy, "deploy_a", "ed25519", "deploy-a");
    TestKeys.generate(deploy, "build_cache", "ecdsa", "build-cache"); // same backend, not among the socket's keys
    personal = TestKeys.generate(Files.createDirectories(dir.resolve("own")), "id_personal", "ed25519", "personal");
    Path run = dir.resolve("keymux").resolve("run");
    containerDir = run.resolve("container");
    openDir = run.resolve("open");
    Path conf = dir.resolve("keymux.conf");
    Files.writeString(conf, """
        keymux {
          backends { files = null, gnome = null, deploy { type = file, paths = ["%s/*"] } }
          sockets {
            # for docker run as root or as --user 1000:1000: group 1000 may open the socket
            container { backends = [deploy], keys = ["deploy-*"], allow-uids = [0, 1000], group = "1000", mode = "0660" }
            # world-writable on purpose, so only the peer check stands between uid 2000 and the keys
            open { backends = [deploy], keys = ["deploy-*"], allow-uids = [1000], mode = "0666" }
            short { backends = [deploy], expires = 6s }
          }
        }
        """.formatted(deploy));
    keymux = KeymuxProcess.start(Files.createDirectories(dir.resolve("keymux")), Map.of(), "--config", conf.toString());
    Proc.run(T, keymux.env(), "/usr/bin/ssh-add", personal.toString()).assertOk();
    for (int i = 0; i < 100 && !Files.exists(containerDir.resolve("agent.sock")); i++) {
      Thread.sleep(50);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (keymux != null) {
      keymux.close();
    }
  }

  static GenericContainer<?> container(Path socketDir, String user) {
    GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(ContainerTest.IMAGE))
        .withImagePullPolicy(name -> false)
        .withNetworkMode("none")
        .withFileSystemBind(socketDir.toString(), "/run/keymux", BindMode.READ_WRITE)
        .withEnv("SSH_AUTH_SOCK", "/run/keymux/agent.sock")
        .withCommand("/bin/sh", "-c", "sleep 300");
    if (user != null) {
      c.withCreateContainerCmdModifier(cmd -> cmd.withUser(user));
    }
    return c;
  }

  static void assertSeesOnlyTheDeployKeyAndSigns(String user) throws Exception {
    try (GenericContainer<?> c = container(containerDir, user)) {
      c.start();
      Container.ExecResult list = c.execInContainer("ssh-add", "-l");
      assertEquals(0, list.getExitCode(), user + ": " + list.getStdout() + list.getStderr());
      assertEquals(1, list.getStdout().strip().lines().count(), "only the deploy key: " + list.getStdout());
      assertTrue(list.getStdout().contains(TestKeys.fingerprint(deployKey)), list.getStdout());
      assertFalse(list.getStdout().contains(TestKeys.fingerprint(personal)), "the main socket's keys stay out");
      assertFalse(list.getStdout().contains("build-cache"), "keys outside the socket's `keys` stay out");

      String pub = TestKeys.publicLine(deployKey);
      Container.ExecResult sign = c.execInContainer("/bin/sh", "-c", "cd /tmp && echo '" + pub + "' > k.pub"
          + " && echo 'release 1.2.3' > m && ssh-keygen -q -Y sign -n file -f k.pub m && cat m.sig && id -u");
      assertEquals(0, sign.getExitCode(), sign.getStdout() + sign.getStderr());
      String out = sign.getStdout();
      assertTrue(out.strip().endsWith(user == null ? "0" : user.split(":")[0]), "ran as the expected uid: " + out);
      Path sig = dir.resolve("m-" + (user == null ? "root" : "user") + ".sig");
      Files.writeString(sig, out.substring(0, out.indexOf("-----END SSH SIGNATURE-----") + 27) + "\n");
      Path signers = Files.writeString(dir.resolve("signers"), "deployer " + pub + "\n");
      Proc.run(T, Map.of(), "release 1.2.3\n".getBytes(StandardCharsets.UTF_8), "/usr/bin/ssh-keygen", "-Y", "verify",
          "-f", signers.toString(), "-I", "deployer", "-n", "file", "-s", sig.toString()).assertOk();

      Container.ExecResult wipe = c.execInContainer("ssh-add", "-D");
      assertNotEquals(0, wipe.getExitCode(), "a scoped socket may not remove keys");
    }
    assertTrue(Proc.run(T, keymux.env(), "/usr/bin/ssh-add", "-l").stdout().contains("personal"), "main socket intact");
  }

  @Test
  void asRootTheContainerSeesOnlyTheDeployKeyAndSignsWithIt() throws Exception {
    assertSeesOnlyTheDeployKeyAndSigns(null);
  }

  @Test
  void asUser1000ThroughTheSocketsGroupAndAllowList() throws Exception {
    assertSeesOnlyTheDeployKeyAndSigns("1000:1000");
  }

  @Test
  void aUidThatIsNotAllowedIsRefused() throws Exception {
    try (GenericContainer<?> c = container(containerDir, "2000:2000")) {
      c.start();
      Container.ExecResult r = c.execInContainer("ssh-add", "-l");
      assertEquals(2, r.getExitCode(), "the 0660 socket's mode keeps uid 2000 out: " + r.getStdout() + r.getStderr());
      assertTrue(r.getStderr().contains("Permission denied"), r.getStderr());
    }
    try (GenericContainer<?> c = container(openDir, "2000:2000")) {
      c.start();
      Container.ExecResult r = c.execInContainer("ssh-add", "-l");
      assertNotEquals(0, r.getExitCode(), "the peer check refuses uid 2000: " + r.getStdout() + r.getStderr());
      assertFalse(r.getStdout().contains(TestKeys.fingerprint(deployKey)));
      Container.ExecResult ok = container1000List();
      assertEquals(0, ok.getExitCode(), "uid 1000 is allowed on the same socket: " + ok.getStderr());
    }
    assertTrue(keymux.log().contains("open: refused connection from uid 2000"), keymux.log());
  }

  private static Container.ExecResult container1000List() throws Exception {
    try (GenericContainer<?> c = container(openDir, "1000:1000")) {
      c.start();
      return c.execInContainer("ssh-add", "-l");
    }
  }

  @Test
  void theSocketDirectoryIsSetUpForItsGroup() throws Exception {
    Path sock = containerDir.resolve("agent.sock");
    assertEquals("rw-rw----", posix(sock));
    assertEquals("rwxr-x---", posix(containerDir), "group may enter; nobody but keymux may create or delete there");
    assertEquals(1000, Files.getAttribute(sock, "unix:gid"));
    assertEquals(1000, Files.getAttribute(containerDir, "unix:gid"));
  }

  private static String posix(Path p) throws Exception {
    return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  @Test
  void aSocketWithAnExpiryIsRemovedOnTime() throws Exception {
    Path sock = dir.resolve("keymux").resolve("run").resolve("short").resolve("agent.sock");
    String line = keymux.log().lines().filter(l -> l.contains("scoped socket short")).findFirst().orElse("");
    assertTrue(line.contains("expires in 6s"), keymux.log());
    long deadline = System.currentTimeMillis() + 20_000;
    while (Files.exists(sock) && System.currentTimeMillis() < deadline) {
      Thread.sleep(100);
    }
    assertFalse(Files.exists(sock), "removed after 6 s");
    assertFalse(Files.exists(sock.getParent()), "its private directory too");
    assertTrue(keymux.log().contains("socket short expired after 6s; removed"), keymux.log());
    // The log's own timestamps say when: start line and expiry line 6 s apart (±1.5 s).
    java.time.LocalTime started = java.time.LocalTime.parse(line.substring(0, 12));
    java.time.LocalTime expired = java.time.LocalTime.parse(keymux.log().lines()
        .filter(l -> l.contains("socket short expired")).findFirst().orElseThrow().substring(0, 12));
    long ms = Duration.between(started, expired).toMillis();
    assertTrue(ms > 4500 && ms < 7500, "expired " + ms + " ms after start");
  }

  @Test
  void aContainerThatMountedTheDirectoryGetsItsAgentBackWhenKeymuxRestarts() throws Exception {
    Path d = Files.createDirectories(dir.resolve("restart"));
    Path conf = Files.writeString(d.resolve("keymux.conf"), """
        keymux {
          backends { files = null, gnome = null, deploy { type = file, paths = ["%s/*"] } }
          sockets.box { backends = [deploy], keys = ["deploy-*"], allow-uids = [0] }
        }
        """.formatted(deployKey.getParent()));
    Path box = d.resolve("run").resolve("box");
    KeymuxProcess first = KeymuxProcess.start(d, Map.of(), "--config", conf.toString());
    waitForSocket(box.resolve("agent.sock"));
    try (GenericContainer<?> c = container(box, null)) {
      c.start();
      assertEquals(0, c.execInContainer("ssh-add", "-l").getExitCode());
      first.close();
      assertTrue(Files.isDirectory(box), "the mounted directory outlives keymux");
      assertNotEquals(0, c.execInContainer("ssh-add", "-l").getExitCode(), "no agent while keymux is down");
      try (KeymuxProcess second = KeymuxProcess.start(d, Map.of(), "--config", conf.toString())) {
        waitForSocket(box.resolve("agent.sock"));
        Container.ExecResult r = c.execInContainer("ssh-add", "-l");
        assertEquals(0, r.getExitCode(), "the same container, no remount: " + r.getStderr());
        assertTrue(r.getStdout().contains(TestKeys.fingerprint(deployKey)), r.getStdout());
      }
    }
  }

  private static void waitForSocket(Path sock) throws InterruptedException {
    for (int i = 0; i < 200 && !Files.exists(sock); i++) {
      Thread.sleep(50);
    }
    assertTrue(Files.exists(sock), sock + " appears");
  }
}
