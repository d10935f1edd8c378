package dev.keymux.core.prompt;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The askpass rules of OpenSSH's readpass.c, checked by running real askpass scripts: when one
 * may run at all, and which answers {@code ask_permission} takes as yes.
 */
class AskpassTest {
  static final Duration T = Duration.ofSeconds(10);
  @TempDir Path dir;

  private static Map<String, String> env(Path program, String... pairs) {
    Map<String, String> env = new HashMap<>();
    env.put("SSH_ASKPASS", program.toString());
    for (int i = 0; i < pairs.length; i += 2) {
      env.put(pairs[i], pairs[i + 1]);
    }
    return env;
  }

  @Test
  void anAskpassThatPrintsNoAndExitsZeroIsARefusal() throws Exception {
    Path no = dev.keymux.testing.Askpass.answering(dir, "no");
    assertFalse(new Askpass(env(no, "DISPLAY", ":0"), T).confirm("Allow use of key k?"));
    assertFalse(Prompts.askpassOnly(env(no, "DISPLAY", ":0"), T).confirm(dev.keymux.core.agent.Session.local(), "Allow use of key k?"));
  }

  @ParameterizedTest(name = "answer [{0}] exit {1} -> {2}")
  @CsvSource(delimiter = '|', value = {
      "''        | 0 | true",
      "yes       | 0 | true",
      "YES       | 0 | true",
      "yEs       | 0 | true",
      "yes\\nno  | 0 | true",
      "no        | 0 | false",
      "y         | 0 | false",
      "yes!      | 0 | false",
      "' yes'    | 0 | false",
      "ok        | 0 | false",
      "yes       | 1 | false",
      "''        | 1 | false",
  })
  void confirmAcceptsOnlyAnEmptyAnswerOrYesWithExitZero(String answer, int status, boolean allowed) throws Exception {
    Path program = dev.keymux.testing.Askpass.answering(dir, answer.replace("\\n", "\n"), status);
    assertEquals(allowed, new Askpass(env(program, "SSH_ASKPASS_REQUIRE", "force"), T).confirm("Allow?"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "no display, no SSH_ASKPASS_REQUIRE     | false | ",
      "empty DISPLAY                          | false | DISPLAY=",
      "DISPLAY                                | true  | DISPLAY=:0",
      "WAYLAND_DISPLAY                        | true  | WAYLAND_DISPLAY=wayland-0",
      "force without a display                | true  | SSH_ASKPASS_REQUIRE=force",
      "FORCE, any case                        | true  | SSH_ASKPASS_REQUIRE=FORCE",
      "prefer without a display               | false | SSH_ASKPASS_REQUIRE=prefer",
      "prefer with DISPLAY                    | true  | SSH_ASKPASS_REQUIRE=prefer DISPLAY=:0",
      "never beats DISPLAY                    | false | SSH_ASKPASS_REQUIRE=never DISPLAY=:0",
      "Never beats WAYLAND_DISPLAY            | false | SSH_ASKPASS_REQUIRE=Never WAYLAND_DISPLAY=w",
      "an unknown value changes nothing       | false | SSH_ASKPASS_REQUIRE=always",
  })
  void theAskpassRunsOnlyWhereOpenSshWouldRunIt(String name, boolean runs, String vars) throws Exception {
    Path log = dir.resolve("asked.log");
    Path program = dev.keymux.testing.Askpass.recording(dir, "yes", log);
    Map<String, String> env = env(program);
    if (vars != null) {
      for (String kv : vars.trim().split(" ")) {
        String[] p = kv.split("=", 2);
        env.put(p[0], p[1]);
      }
    }
    Askpass askpass = new Askpass(env, T);
    assertEquals(runs, askpass.program().isPresent(), askpass.describeProgram());
    assertEquals(runs, askpass.confirm("Allow use of key k?"));
    assertEquals(runs, askpass.ask("Enter passphrase: ", null).isPresent());
    assertEquals(runs, Files.exists(log), "the askpass program ran");
    if (!runs) {
      String why = askpass.describeProgram();
      assertTrue(why.contains("SSH_ASKPASS_REQUIRE=never") || why.contains("DISPLAY"), why);
    }
  }

  @Test
  void confirmPassesTheConfirmHintAndAPassphrasePromptDoesNot() throws Exception {
    Path log = dir.resolve("asked.log");
    Path program = dev.keymux.testing.Askpass.recording(dir, "", log);
    Askpass askpass = new Askpass(env(program, "DISPLAY", ":0", "SSH_ASKPASS_PROMPT", "stale"), T);
    assertTrue(askpass.confirm("Allow use of key k?"));
    askpass.ask("Enter passphrase: ", null).orElseThrow();
    assertEquals("prompt=Allow use of key k?\nhint=confirm\nprompt=Enter passphrase: \nhint=\n", Files.readString(log));
  }

  @Test
  void anAnswerEndsAtItsFirstLineBreakAsInOpenSsh() throws Exception {
    Path program = dev.keymux.testing.Askpass.answering(dir, "pass word\r\nsecond line");
    byte[] answer = new Askpass(env(program, "SSH_ASKPASS_REQUIRE", "force"), T).ask("Enter passphrase: ", null).orElseThrow();
    assertEquals("pass word", new String(answer));
  }

  @Test
  void aMissingProgramIsNamed() {
    Askpass askpass = new Askpass(env(dir.resolve("nope"), "SSH_ASKPASS_REQUIRE", "force"), T);
    assertTrue(askpass.program().isEmpty());
    assertEquals(dir.resolve("nope") + " is not executable", askpass.describeProgram());
  }
}
