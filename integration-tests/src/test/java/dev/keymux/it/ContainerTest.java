package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.TestKeys;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The container story: a key added on the host is usable inside a container that has only the
 * keymux socket bind-mounted at /ssh-agent — with networking off. The image is built locally
 * (scripts/build-test-image.sh); nothing is pulled.
 */
class ContainerTest {
  static final String IMAGE = System.getProperty("keymux.test.image",
      System.getenv().getOrDefault("KEYMUX_TEST_IMAGE", "keymux-test:latest"));
  @TempDir Path dir;

  @Test
  void aContainerListsTheHostsKeyThroughTheMountedSocket() throws Exception {
    boolean docker;
    String why;
    try {
      docker = DockerClientFactory.instance().isDockerAvailable();
      why = "no Docker engine answers";
    } catch (RuntimeException e) {
      docker = false;
      why = e.toString();
    }
    RealComponents.require("docker", docker, why);

    Path key = TestKeys.generate(dir, "id_host", "ed25519", "host key for container");
    try (KeymuxProcess keymux = KeymuxProcess.start(dir, Map.of())) {
      Proc.run(Duration.ofSeconds(30), keymux.env(), "/usr/bin/ssh-add", key.toString()).assertOk();
      try (GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(IMAGE))
          .withImagePullPolicy(name -> false)
          .withNetworkMode("none")
          .withFileSystemBind(keymux.socket.toString(), "/ssh-agent", BindMode.READ_WRITE)
          .withCommand("/bin/sh", "-c", "sleep 300")) {
        c.start();
        Container.ExecResult r = c.execInContainer("/bin/sh", "-c", "SSH_AUTH_SOCK=/ssh-agent ssh-add -l");
        assertEquals(0, r.getExitCode(), r.getStdout() + r.getStderr());
        assertTrue(r.getStdout().contains(TestKeys.fingerprint(key)), r.getStdout());
        Container.ExecResult net = c.execInContainer("/bin/sh", "-c", "cat /sys/class/net/*/operstate 2>/dev/null; ls /sys/class/net");
        assertFalse(net.getStdout().contains("eth0"), "networking is off: " + net.getStdout());
      }
    }
  }
}
