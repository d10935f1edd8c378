package dev.keymux.cli.doctor;

import java.io.PrintWriter;

/**
 * What {@code keymux doctor} prints: one line per finding, OK, PROBLEM or NOTE, each problem
 * and most notes followed by the exact commands that fix them. Only problems count towards the
 * exit status; a NOTE is something that may be on purpose (sudo dropping SSH_AUTH_SOCK, no
 * systemd in a container), so a machine set up as intended can still read "No problems found".
 */
final class DoctorReport {
  private static final String INDENT = "         ";
  private final PrintWriter out;
  private int problems;

  DoctorReport(PrintWriter out) {
    this.out = out;
  }

  void ok(String what) {
    out.println("OK       " + what);
  }

  /** A problem and its fix; a second fix is an alternative ("or: ..."). */
  void problem(String what, String fix, String... alternatives) {
    problems++;
    out.println("PROBLEM  " + what);
    fixes(fix, alternatives);
  }

  void note(String what) {
    out.println("NOTE     " + what);
  }

  /** A note with what to do if it is not on purpose. */
  void note(String what, String fix, String... alternatives) {
    note(what);
    fixes(fix, alternatives);
  }

  private void fixes(String fix, String... alternatives) {
    out.println(INDENT + "fix: " + fix);
    for (String a : alternatives) {
      out.println(INDENT + " or: " + a);
    }
  }

  int problems() {
    return problems;
  }

  /** The closing line; the exit status is 1 when there was a problem. */
  int finish() {
    out.println(problems == 0 ? "No problems found." : problems + " problem(s) found.");
    out.flush();
    return problems == 0 ? 0 : 1;
  }
}
