package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * OpenSSH's own agent regress tests (Debian's openssh-tests) with keymux's ssh-agent drop-in as
 * {@code TEST_SSH_SSHAGENT} and the system's ssh, ssh-add, ssh-keygen and sshd for the rest, run
 * by {@code scripts/openssh-regress.sh}. OpenSSH's ssh-agent passes both here.
 */
class OpenSshRegressTest {
  private static final Path SUITE = Path.of("/usr/lib/openssh/regress/test-exec.sh");

  @ParameterizedTest
  @ValueSource(strings = {"agent", "agent-restrict"})
  void passesWithKeymuxAsTheAgent(String test) {
    RealComponents.require("openssh-regress", Files.isRegularFile(SUITE) && Files.isExecutable(Path.of("/usr/sbin/sshd")),
        "OpenSSH's regress suite is not installed (apt-get install openssh-tests openssh-server)");
    Path root = KeymuxProcess.jar().getParent().getParent().getParent();
    Path script = root.resolve("scripts/openssh-regress.sh");
    Proc.Result r = Proc.run(Duration.ofMinutes(10), Map.of("KEYMUX_JAR", KeymuxProcess.jar().toString()),
        script.toString(), test);
    assertEquals(0, r.exitCode(), r.toString());
    assertTrue(r.toString().contains("\nok "), "the suite reports its test as passed: " + r);
  }
}
