package dev.keymux.cli.doctor;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.cli.Programs;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.TestKeys;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What counts as an answer from {@code ssh-add -l} in {@code keymux doctor --container}: the real
 * ssh-add against a real ssh-agent (no keys, one key) and against a socket that closes every
 * connection unanswered, as keymux does to a peer it does not admit — ssh-add exits 1 for both
 * "no identities" and the refusal, and only the first is an answer.
 */
class SocketReachTest {
  static final Duration T = Duration.ofSeconds(30);
  @TempDir Path dir;

  @BeforeAll
  static void opensshInstalled() {
    RealComponents.require("openssh", RealComponents.commandExists("/usr/bin/ssh-agent") && RealComponents.commandExists("/usr/bin/ssh-add"),
        "apt-get install -y openssh-client");
  }

  private static Programs.Outcome sshAdd(Path socket, String... args) {
    List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/env", "SSH_AUTH_SOCK=" + socket, "/usr/bin/ssh-add"));
    cmd.addAll(List.of(args));
    return Programs.run(T, cmd);
  }

  @Test
  void anAgentWithoutKeysAnswersAndOneWithAKeyListsIt() throws Exception {
    Path socket = dir.resolve("agent.sock");
    Process agent = new ProcessBuilder("/usr/bin/ssh-agent", "-D", "-a", socket.toString()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("agent.log").toFile()).start();
    try {
      for (int i = 0; i < 100 && !Files.exists(socket); i++) {
        Thread.sleep(50);
      }
      Programs.Outcome empty = sshAdd(socket, "-l");
      assertEquals(1, empty.exitCode(), empty.output());
      assertEquals(0L, SocketReach.answeredKeys(empty), empty.output());

      Path key = TestKeys.generate(Files.createDirectories(dir.resolve("keys")), "id_t", "ed25519", "t-key");
      assertTrue(sshAdd(socket, key.toString()).ok());
      Programs.Outcome one = sshAdd(socket, "-l");
      assertEquals(1L, SocketReach.answeredKeys(one), one.output());
    } finally {
      agent.destroy();
      agent.waitFor();
    }
  }

  @Test
  void aConnectionClosedUnansweredIsNoAnswerThoughSshAddAlsoExits1() throws Exception {
    Path socket = dir.resolve("refusing.sock");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(socket));
      Thread refuser = new Thread(() -> {
        while (true) {
          try (SocketChannel c = server.accept()) {
            // Closed unanswered, like keymux's refusal of a uid the socket does not admit; after
            // reading the request, so ssh-add reads EOF (exit 1) instead of dying of SIGPIPE
            // (exit 141) on its write, depending on who is faster.
            java.nio.ByteBuffer length = java.nio.ByteBuffer.allocate(4);
            while (length.hasRemaining() && c.read(length) >= 0) {
              // the request's length may come in its own write
            }
            java.nio.ByteBuffer body = java.nio.ByteBuffer.allocate(Math.max(0, Math.min(length.flip().getInt(), 1024)));
            while (body.hasRemaining() && c.read(body) >= 0) {
              // then its body
            }
          } catch (IOException e) {
            return;
          }
        }
      });
      refuser.setDaemon(true);
      refuser.start();
      Programs.Outcome refused = sshAdd(socket, "-l");
      assertEquals(1, refused.exitCode(), "ssh-add's exit status is the same as for no keys: " + refused.output());
      assertFalse(refused.output().contains("The agent has no identities."), refused.output());
      assertNull(SocketReach.answeredKeys(refused), refused.output());
    }
  }
}
