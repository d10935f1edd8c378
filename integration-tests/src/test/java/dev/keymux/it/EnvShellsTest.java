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
    return afterEval(List.of(), KeymuxProcess.jar(), dir, shell, vars, keymuxArgs);
  }

  /** As {@link #afterEval(String, Map, String...)}, run behind {@code as} (setpriv), keymux from {@code jar}. */
  private String afterEval(List<String> as, Path jar, Path home, String shell, Map<String, String> vars, String... keymuxArgs) {
    List<String> keymuxCmd = new ArrayList<>(List.of(KeymuxProcess.javaBinary(), "-jar", jar.toString(), "env"));
    keymuxCmd.addAll(List.of(keymuxArgs));
    String keymux = keymuxCmd.stream().map(w -> "'" + w + "'").collect(Collectors.joining(" "));
    String script = switch (shell) {
      case "fish" -> keymux + " | source; and printf '%s' \"$SSH_AUTH_SOCK\"";
      case "tcsh" -> "eval \"`" + keymux + "`\" && printf '%s' \"$SSH_AUTH_SOCK\"";
      default -> "eval \"$(" + keymux + ")\" && printf '%s' \"$SSH_AUTH_SOCK\"";
    };
    List<String> cmd = new ArrayList<>(as);
    cmd.addAll(List.of("/usr/bin/env", "-i", "HOME=" + home, "PATH=/usr/bin:/bin"));
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

  /**
   * ssh into the machine before any graphical login: no XDG_RUNTIME_DIR, but systemd's socket of
   * the user's session agent is at /run/user/UID/keymux/agent.sock: every shell finds it, and
   * falls back to /tmp/keymux-UID/ only once it is gone. Run as a uid of its own, so no real
   * session's directory is touched.
   */
  @Test
  void withoutXdgRuntimeDirEveryShellFindsTheSessionSocketUnderRunUserWhileItIsThere() throws Exception {
    RealComponents.require("other-uid", Posix.currentUid() == 0 && RealComponents.commandExists("/usr/bin/setpriv"),
        "another uid needs root and setpriv");
    int uid = 4246;
    Path userRun = Path.of("/run/user/" + uid);
    assertFalse(Files.exists(userRun), userRun + " belongs to a real session here; this test needs the uid unused");
    Path shared = Files.createTempDirectory("keymux-env.");
    try {
      Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
      Path jar = Files.copy(KeymuxProcess.jar(), shared.resolve("keymux.jar"));
      Files.setPosixFilePermissions(jar, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      Path home = Files.createDirectories(shared.resolve("home"));
      Files.setAttribute(home, "unix:uid", uid);
      Path socket = userRun.resolve("keymux/agent.sock");
      Files.createDirectories(socket.getParent());
      try (var s = org.newsclub.net.unix.AFUNIXServerSocket.newInstance()) {
        s.bind(org.newsclub.net.unix.AFUNIXSocketAddress.of(socket.toFile()));
        List<String> as = List.of("/usr/bin/setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups");
        for (String shell : SHELLS.keySet()) {
          assertEquals(socket.toString(), afterEval(as, jar, home, shell, Map.of(), "--shell", shell), shell + ", XDG_RUNTIME_DIR unset");
        }
        Files.delete(socket);
        for (String shell : SHELLS.keySet()) {
          assertEquals("/tmp/keymux-" + uid + "/agent.sock", afterEval(as, jar, home, shell, Map.of(), "--shell", shell),
              shell + ", no session socket");
        }
      }
    } finally {
      Proc.run(T, Map.of(), "/bin/rm", "-rf", shared.toString(), userRun.toString());
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
