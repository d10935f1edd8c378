package dev.keymux.cli;

import static org.junit.jupiter.api.Assertions.*;

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
  void envRefusesShellsItCannotWriteForAndNamesTheSupportedOnes() {
    Run r = run("env", "--shell", "tcsh");
    assertEquals(1, r.exit(), r.out());
    assertEquals("keymux: unsupported shell 'tcsh' (--shell tcsh); supported: sh, bash, dash, zsh, fish", r.err().strip());
    assertEquals("", r.out(), "nothing to eval");
  }

  @Test
  void envGuessesTheShellFromTheLoginShellsPath() {
    assertEquals(EnvCommand.Shell.ZSH, EnvCommand.Shell.chosen(null, java.util.Map.of("SHELL", "/usr/bin/zsh")));
    assertEquals(EnvCommand.Shell.SH, EnvCommand.Shell.chosen(null, java.util.Map.of()));
    assertEquals(EnvCommand.Shell.DASH, EnvCommand.Shell.chosen("dash", java.util.Map.of("SHELL", "/bin/csh")), "--shell wins");
    Main.UserError e = assertThrows(Main.UserError.class, () -> EnvCommand.Shell.chosen(null, java.util.Map.of("SHELL", "/bin/csh")));
    assertTrue(e.getMessage().contains("$SHELL=/bin/csh; choose one with --shell"), e.getMessage());
  }
}
