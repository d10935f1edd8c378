package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.server.Posix;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The line {@code keymux env} prints, evaluated as a shell profile does it, in the real shells:
 * {@code eval "$(keymux env)"} in bash, dash, zsh, mksh and ksh (a name keymux does not know,
 * which gets POSIX syntax), {@code keymux env | source} in fish, {@code eval "`keymux env`"} in
 * tcsh — in an {@code env -i} environment with XDG_RUNTIME_DIR set, empty or unset (ssh before
 * any graphical login), and with a configured socket path that needs quoting.
 */
class EnvShellsTest {
  static final Duration T = Duration.ofSeconds(60);
  static final Map<String, String> SHELLS = new LinkedHashMap<>();

  static {
    SHELLS.put("bash", "/usr/bin/bash");
    SHELLS.put("dash", "/usr/bin/dash");
    SHELLS.put("zsh", "/usr/bin/zsh");
    SHELLS.put("fish", "/usr/bin/fish");
    SHELLS.put("mksh", "/usr/bin/mksh");
    SHELLS.put("ksh", "/usr/bin/ksh"); // a name keymux has no case for: POSIX syntax
    SHELLS.put("tcsh", "/usr/bin/tcsh");
  }

  @TempDir Path dir;

  @BeforeAll
  static void shellsInstalled() {
    List<String> missing = SHELLS.values().stream().filter(s -> !RealComponents.commandExists(s)).toList();
    RealComponents.require("shells", missing.isEmpty(), "not installed: " + missing + " (apt-get install -y zsh fish mksh tcsh)");
  }

  /**
   * SSH_AUTH_SOCK as {@code shell} sees it after evaluating keymux's line, in an environment of
   * exactly HOME, PATH and {@code vars}.
   */
  private String afterEval(String shell, Map<String, String> vars, String... keymuxArgs) {
    List<String> args = new ArrayList<>(List.of("env"));
    args.addAll(List.of(keymuxArgs));
    String keymux = KeymuxProcess.command(args.toArray(String[]::new)).stream().map(w -> "'" + w + "'")
        .collect(Collectors.joining(" "));
    String script = switch (shell) {
      case "fish" -> keymux + " | source; and printf '%s' \"$SSH_AUTH_SOCK\"";
      case "tcsh" -> "eval \"`" + keymux + "`\" && printf '%s' \"$SSH_AUTH_SOCK\"";
      default -> "eval \"$(" + keymux + ")\" && printf '%s' \"$SSH_AUTH_SOCK\"";
    };
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/env", "-i", "HOME=" + dir, "PATH=/usr/bin:/bin"));
    vars.forEach((k, v) -> cmd.add(k + "=" + v));
    cmd.addAll(shell.equals("tcsh") ? List.of(SHELLS.get(shell), "-f", "-c", script) : List.of(SHELLS.get(shell), "-c", script));
    Proc.Result r = Proc.run(T, Map.of(), cmd.toArray(String[]::new));
    assertEquals(0, r.exitCode(), shell + ": " + r);
    assertEquals("", r.stderr(), shell + " evaluated the line without complaint");
    return r.stdout();
  }

  @Test
  void theDefaultLineFollowsXdgRuntimeDirInEveryShellGuessedFromShell() throws Exception {
    Path run = Files.createDirectories(dir.resolve("run"));
    for (Map.Entry<String, String> s : SHELLS.entrySet()) {
      Map<String, String> vars = Map.of("SHELL", s.getValue(), "XDG_RUNTIME_DIR", run.toString());
      assertEquals(run + "/keymux/agent.sock", afterEval(s.getKey(), vars), s.getKey() + ", shell guessed from $SHELL");
    }
  }

  @Test
  void withoutXdgRuntimeDirEveryShellGetsThePrivateTmpSocket() {
    String fallback = "/tmp/keymux-" + Posix.currentUid() + "/agent.sock";
    for (String shell : SHELLS.keySet()) {
      assertEquals(fallback, afterEval(shell, Map.of(), "--shell", shell), shell + ", XDG_RUNTIME_DIR unset");
      assertEquals(fallback, afterEval(shell, Map.of("XDG_RUNTIME_DIR", ""), "--shell", shell), shell + ", XDG_RUNTIME_DIR empty");
    }
  }

  @Test
  void aConfiguredPathWithSpacesQuotesAndDollarsArrivesVerbatim() throws Exception {
    Path socket = dir.resolve("it's  my \"keys\" $HOME \\ `x` !1").resolve("agent.sock");
    String hocon = socket.toString().replace("\\", "\\\\").replace("\"", "\\\"");
    Path conf = Files.writeString(dir.resolve("k.conf"), "keymux.socket.path = \"" + hocon + "\"\n");
    for (String shell : SHELLS.keySet()) {
      assertEquals(socket.toString(), afterEval(shell, Map.of("XDG_RUNTIME_DIR", "/run/elsewhere"), "--shell", shell,
          "--config", conf.toString()), shell);
    }
  }
}
