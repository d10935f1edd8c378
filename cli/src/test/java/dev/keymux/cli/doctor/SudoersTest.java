package dev.keymux.cli.doctor;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.cli.Programs;
import dev.keymux.testing.RealComponents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whether sudo keeps SSH_AUTH_SOCK, read from sudoers trees written to a temp "/" as sudo would read them. */
class SudoersTest {
  @TempDir Path root;
  Path sudoers;
  Path dropIns;

  @BeforeEach
  void debianDefault() throws Exception {
    dropIns = Files.createDirectories(root.resolve("etc/sudoers.d"));
    sudoers = Files.writeString(root.resolve("etc/sudoers"), """
        # Debian's sudoers, shortened
        Defaults\tenv_reset
        Defaults\tmail_badpass
        Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        root\tALL=(ALL:ALL) ALL
        %sudo\tALL=(ALL:ALL) ALL
        @includedir /etc/sudoers.d
        """);
  }

  private Sudoers.Verdict verdict() throws Exception {
    return Sudoers.read(sudoers, root, "alice", "laptop");
  }

  @Test
  void debiansDefaultDropsIt() throws Exception {
    Sudoers.Verdict v = verdict();
    assertFalse(v.kept());
    assertEquals(sudoers + ":2: env_reset, and no env_keep names SSH_AUTH_SOCK", v.because());
  }

  @Test
  void aDropInWithEnvKeepKeepsIt() throws Exception {
    Path dropIn = Files.writeString(dropIns.resolve("keymux"), "Defaults env_keep += \"SSH_AUTH_SOCK\"\n");
    Sudoers.Verdict v = verdict();
    assertTrue(v.kept(), v.toString());
    assertEquals(dropIn + ":1: env_keep += \"SSH_AUTH_SOCK\"", v.because());
  }

  @Test
  void includedirSkipsNamesWithADotOrATildeAndReadsTheRestInOrder() throws Exception {
    Files.writeString(dropIns.resolve("keymux.conf"), "Defaults env_keep += SSH_AUTH_SOCK\n");
    Files.writeString(dropIns.resolve("keymux~"), "Defaults env_keep += SSH_AUTH_SOCK\n");
    assertFalse(verdict().kept(), "sudo ignores keymux.conf and keymux~");
    Files.writeString(dropIns.resolve("10-keep"), "Defaults env_keep += \"LANG SSH_*\"\n");
    assertTrue(verdict().kept(), "a trailing * matches");
    Path later = Files.writeString(dropIns.resolve("20-tighten"), "Defaults env_keep -= \"SSH_*\"\n");
    Sudoers.Verdict v = verdict();
    assertFalse(v.kept(), "a later file wins");
    assertTrue(v.because().contains("last changed at " + later + ":1"), v.because());
  }

  @Test
  void notResettingTheEnvironmentKeepsItUnlessEnvDeleteNamesIt() throws Exception {
    Path loose = Files.writeString(dropIns.resolve("loose"), "Defaults !env_reset # keep everything\n");
    Sudoers.Verdict v = verdict();
    assertTrue(v.kept());
    assertEquals(loose + ":1: !env_reset", v.because());
    Files.writeString(loose, "Defaults !env_reset, env_delete += \"SSH_AUTH_SOCK\"\n");
    assertFalse(verdict().kept());
  }

  @Test
  void includesContinuationsAndScopedDefaults() throws Exception {
    Files.writeString(sudoers, Files.readString(sudoers) + "#include extra\n");
    Path extra = Files.writeString(root.resolve("etc/extra"), """
        Defaults:bob env_keep += SSH_AUTH_SOCK
        Defaults!/usr/bin/git env_keep += SSH_AUTH_SOCK
        Defaults:alice,carol mail_badpass, \\
            env_keep += "SSH_AUTH_SOCK"
        """);
    Sudoers.Verdict v = verdict();
    assertTrue(v.kept(), "relative #include, Defaults:alice across a continuation line: " + v);
    assertEquals(extra + ":3: env_keep += \"SSH_AUTH_SOCK\"", v.because());
    Files.writeString(extra, "Defaults:bob env_keep += SSH_AUTH_SOCK\nDefaults!/usr/bin/git env_keep += SSH_AUTH_SOCK\n");
    assertFalse(verdict().kept(), "bob's and git's defaults are not alice's");
  }

  @Test
  void anEnvKeepAssignmentReplacesTheList() throws Exception {
    Files.writeString(dropIns.resolve("a"), "Defaults env_keep += SSH_AUTH_SOCK\nDefaults env_keep = \"LANG LC_ALL\"\n");
    assertFalse(verdict().kept());
  }

  /** The real sudo's own listing of the defaults agrees with reading the real sudoers (root needs no password). */
  @Test
  void sudoListAgreesWithTheSudoersFileOnThisMachine() throws Exception {
    boolean usable = RealComponents.commandExists("/usr/bin/sudo") && Files.isReadable(Path.of("/etc/sudoers"));
    RealComponents.require("sudo", usable, "sudo not installed or /etc/sudoers not readable (run as root)");
    Programs.Outcome list = Programs.run(Duration.ofSeconds(20), List.of("/usr/bin/sudo", "-n", "-l"));
    assertTrue(list.ok(), list.output());
    Sudoers.Verdict fromList = Sudoers.fromSudoList(list.output());
    assertNotNull(fromList, list.output());
    Sudoers.Verdict fromFile = Sudoers.read(Path.of("/etc/sudoers"), Path.of("/"), System.getProperty("user.name"),
        Files.readString(Path.of("/proc/sys/kernel/hostname")).strip());
    assertEquals(fromFile.kept(), fromList.kept(), list.output() + "\nfile: " + fromFile + "\nlist: " + fromList);
    assertNull(Sudoers.fromSudoList("sudo: a password is required\n"), "no defaults section, no verdict");
  }

  /** What sudo 1.9.13 printed here with a drop-in {@code Defaults env_keep += "SSH_AUTH_SOCK LANG"} and {@code Defaults:root !lecture}. */
  @Test
  void sudoListWithEnvKeepReadsAsKept() {
    String listed = """
        Matching Defaults entries for root on vm:
            env_reset, mail_badpass,
            secure_path=/usr/local/sbin\\:/usr/local/bin\\:/usr/sbin\\:/usr/bin\\:/sbin\\:/bin,
            use_pty, env_keep+="SSH_AUTH_SOCK LANG", !lecture

        User root may run the following commands on vm:
            (ALL : ALL) ALL
        """;
    Sudoers.Verdict v = Sudoers.fromSudoList(listed);
    assertTrue(v.kept(), v.toString());
    assertEquals("sudo -l: env_keep+=\"SSH_AUTH_SOCK LANG\"", v.because());
    assertFalse(Sudoers.fromSudoList(listed.replace(", env_keep+=\"SSH_AUTH_SOCK LANG\"", "")).kept());
  }
}
