package dev.keymux.cli.command;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.cli.UserError;
import dev.keymux.cli.setup.Shell;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Argument handling of the command line, without starting anything. */
class MainTest {
  private record Run(int exit, String out, String err) {}

  private Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void conflictingShellFlagsAreRefused() {
    Run r = run("agent", "-c", "-s", "-k");
    assertEquals(1, r.exit());
    assertTrue(r.err().contains("mutually exclusive"), r.err());
  }

  @Test
  void aBadLifetimeIsRefusedBeforeAnythingStarts() {
    Run r = run("agent", "-t", "soon");
    assertEquals(1, r.exit());
    assertTrue(r.err().contains("Invalid lifetime: soon"), r.err());
  }

  @Test
  void foregroundModeCannotRunACommand() {
    Run r = run("agent", "-D", "sh");
    assertEquals(1, r.exit());
    assertTrue(r.err().contains("cannot be combined"), r.err());
  }

  @Test
  void anUnknownSubcommandShowsUsage() {
    Run r = run("frobnicate");
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("Unmatched argument"), r.err());
  }

  @Test
  void envPrintsFishSyntaxOnRequest() {
    Run r = run("env", "--shell", "fish");
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("set -gx SSH_AUTH_SOCK"), r.out());
  }

  @Test
  void envPrintsCshSyntaxForCshAndTcsh() {
    for (String csh : new String[] {"csh", "tcsh", "/bin/tcsh"}) {
      Run r = run("env", "--shell", csh);
      assertEquals(0, r.exit(), r.err());
      assertTrue(r.out().startsWith("setenv SSH_AUTH_SOCK "), csh + ": " + r.out());
      assertFalse(r.out().contains("export"), r.out());
    }
  }

  @Test
  void envGivesEveryOtherShellPosixSyntax() {
    for (String other : new String[] {"ksh", "mksh", "ash", "yash", "busybox", "/usr/local/bin/oksh"}) {
      Run r = run("env", "--shell", other);
      assertEquals(0, r.exit(), other + ": " + r.err());
      assertTrue(r.out().contains("; export SSH_AUTH_SOCK;"), other + ": " + r.out());
    }
  }

  @Test
  void envGuessesTheShellFromTheLoginShellsPath() {
    assertEquals(Shell.FISH, Shell.chosen(null, java.util.Map.of("SHELL", "/usr/bin/fish")));
    assertEquals(Shell.CSH, Shell.chosen(null, java.util.Map.of("SHELL", "/bin/csh")));
    assertEquals(Shell.CSH, Shell.chosen(null, java.util.Map.of("SHELL", "-tcsh")));
    assertEquals(Shell.POSIX, Shell.chosen(null, java.util.Map.of("SHELL", "/bin/ksh")));
    assertEquals(Shell.POSIX, Shell.chosen(null, java.util.Map.of("SHELL", "/usr/bin/zsh")));
    assertEquals(Shell.POSIX, Shell.chosen(null, java.util.Map.of()));
    assertEquals(Shell.POSIX, Shell.chosen("dash", java.util.Map.of("SHELL", "/bin/csh")), "--shell wins");
    assertEquals(Shell.FISH, Shell.chosen("fish", java.util.Map.of("SHELL", "/bin/ksh")), "--shell wins");
  }

  @Test
  void cshRefusesAPathWithALineBreakItCannotQuote() {
    UserError e = assertThrows(UserError.class, () -> Shell.CSH.exportLine(java.nio.file.Path.of("/tmp/a\nb/s")));
    assertTrue(e.getMessage().contains("line break"), e.getMessage());
  }
}
