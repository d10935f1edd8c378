package dev.keymux.it;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.testing.Proc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keymux install} and {@code uninstall} in a private HOME and XDG_CONFIG_HOME, with no
 * systemd user session (no XDG_RUNTIME_DIR, no session bus), as in a container or CI.
 */
class InstallCommandTest {
  static final Duration T = Duration.ofSeconds(60);
  @TempDir Path dir;

  Map<String, String> env() {
    Map<String, String> env = KeymuxProcess.cleanEnv(dir); // HOME=dir, XDG_CONFIG_HOME=dir/.config
    env.put("KEYMUX_JAVA", KeymuxProcess.javaBinary()); // else install picks the newest Java here
    return env;
  }

  Proc.Result keymux(String... args) {
    return Proc.run(T, env(), KeymuxProcess.command(args).toArray(String[]::new));
  }

  Path units() {
    return dir.resolve(".config/systemd/user");
  }

  @Test
  void printShowsUnitsThatRunThisJarAndWritesNothing() {
    Proc.Result r = keymux("install", "--print");
    assertEquals(0, r.exitCode(), r.toString());
    assertTrue(r.stdout().contains("# " + units().resolve("keymux.socket")), r.stdout());
    assertTrue(r.stdout().contains("\nListenStream=%t/keymux/agent.sock\nSocketMode=0600\nDirectoryMode=0700\n"), r.stdout());
    String execStart = r.stdout().lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
    assertTrue(execStart.startsWith("ExecStart=" + KeymuxProcess.javaBinary() + " -XX:+UseSerialGC "), execStart);
    assertTrue(execStart.endsWith(" -jar " + KeymuxProcess.jar() + " serve"), execStart);
    assertTrue(r.stdout().contains("\nExecReload=/bin/kill -HUP $MAINPID\n"), r.stdout());
    assertFalse(Files.exists(dir.resolve(".config")), "--print writes nothing");
  }

  @Test
  void installWritesUnitsAndAValidStarterConfigUninstallRemovesOnlyTheUnits() throws Exception {
    Proc.Result r = keymux("install", "--no-enable", "--no-archive");
    assertEquals(0, r.exitCode(), r.toString());
    Path socketUnit = units().resolve("keymux.socket");
    Path serviceUnit = units().resolve("keymux.service");
    assertTrue(Files.readString(socketUnit).contains("ListenStream=%t/keymux/agent.sock"));
    assertTrue(Files.readString(serviceUnit).contains("ExecStart=" + KeymuxProcess.javaBinary() + " -XX:"));
    assertFalse(Files.readString(serviceUnit).contains("-XX:SharedArchiveFile="), "--no-archive: none made, none named");
    assertTrue(r.stdout().contains("SSH_AUTH_SOCK=\"$XDG_RUNTIME_DIR/keymux/agent.sock\""), r.stdout());
    assertTrue(r.stdout().contains("if [ -n \"${XDG_RUNTIME_DIR:-}\" ]"), "the line works in a login without XDG_RUNTIME_DIR");

    Path config = dir.resolve(".config/keymux/keymux.conf");
    assertTrue(Files.readString(config).contains("keymux policy check"));
    Proc.Result check = keymux("policy", "check");
    assertEquals(0, check.exitCode(), "the starter configuration is valid: " + check);
    assertTrue(check.stdout().contains(config.toString()), "policy check read the starter file: " + check.stdout());

    Files.writeString(config, "keymux.idle-exit = 5m\n");
    assertEquals(0, keymux("install", "--no-enable", "--no-archive").exitCode());
    assertEquals("keymux.idle-exit = 5m\n", Files.readString(config), "an existing configuration is kept");

    Proc.Result u = keymux("uninstall");
    assertEquals(0, u.exitCode(), u.toString());
    assertFalse(Files.exists(socketUnit) || Files.exists(serviceUnit), u.toString());
    assertTrue(Files.exists(config), "uninstall keeps the configuration");
  }

  @Test
  void withoutAUserSessionInstallSaysSoAndUninstallLeavesUnitsItDidNotWrite() throws Exception {
    Proc.Result r = keymux("install", "--no-archive");
    assertEquals(1, r.exitCode(), r.toString());
    assertTrue(r.stderr().contains("could not enable keymux.socket") && r.stderr().contains("no systemd user session"),
        r.stderr());
    assertFalse(r.stderr().contains("Exception"), "a clear message, not a stack trace: " + r.stderr());
    assertTrue(Files.exists(units().resolve("keymux.socket")), "the units are written all the same");

    Files.writeString(units().resolve("keymux.service"), "[Service]\nExecStart=/usr/bin/true\n"); // the user's own
    Proc.Result u = keymux("uninstall");
    assertEquals(1, u.exitCode(), u.toString());
    assertTrue(u.stderr().contains("keymux install did not write it"), u.stderr());
    assertFalse(Files.exists(units().resolve("keymux.socket")));
    assertTrue(Files.exists(units().resolve("keymux.service")), "a unit without keymux's marker is not removed");
  }
}
