package dev.keymux.cli.setup;

import dev.keymux.cli.UserError;
import dev.keymux.core.server.Posix;
import java.nio.file.Path;
import java.util.Map;

/**
 * The syntax keymux prints: POSIX for every shell but fish and the C shells, so a login shell
 * keymux has never heard of (ksh, mksh, busybox sh, yash) still gets a working line. The csh
 * line is meant for {@code eval "`keymux env`"} (the double quotes keep blanks in a path) or
 * for ~/.cshrc as it is, as {@code ssh-agent -c} does.
 */
public enum Shell {
  POSIX, FISH, CSH;

  /** The shell named by {@code --shell}, or else by $SHELL, or POSIX. */
  public static Shell chosen(String option, Map<String, String> env) {
    return named(option != null ? option : env.getOrDefault("SHELL", ""));
  }

  /** By name or path ({@code /usr/bin/fish}, {@code -tcsh} as login shells see it). */
  public static Shell named(String nameOrPath) {
    int slash = nameOrPath.lastIndexOf('/');
    String name = nameOrPath.substring(slash + 1).replaceFirst("^-", "");
    return switch (name) {
      case "fish" -> FISH;
      case "csh", "tcsh" -> CSH;
      default -> POSIX;
    };
  }

  /** Where the line goes, for {@code keymux install}'s advice. */
  public String profiles() {
    return switch (this) {
      case FISH -> "~/.config/fish/config.fish";
      case CSH -> "~/.cshrc or ~/.tcshrc";
      case POSIX -> "~/.profile, ~/.bashrc, ~/.zshrc or ~/.kshrc";
    };
  }

  /**
   * {@code s} as one word: POSIX single quotes; fish's, which know {@code \'} and {@code \\}; or
   * csh's, where {@code !} needs a backslash even inside quotes and a newline cannot be quoted.
   */
  public String quote(String s) {
    return switch (this) {
      case FISH -> "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
      case POSIX -> "'" + s.replace("'", "'\\''") + "'";
      case CSH -> {
        if (s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) {
          throw new UserError("a socket path with a line break cannot be written for csh; choose another keymux.socket.path");
        }
        yield "'" + s.replace("'", "'\\''").replace("!", "\\!") + "'";
      }
    };
  }

  /** The line that exports SSH_AUTH_SOCK=path. */
  public String exportLine(Path socket) {
    return switch (this) {
      case FISH -> "set -gx SSH_AUTH_SOCK " + quote(socket.toString()) + ";";
      case CSH -> "setenv SSH_AUTH_SOCK " + quote(socket.toString()) + ";";
      case POSIX -> "SSH_AUTH_SOCK=" + quote(socket.toString()) + "; export SSH_AUTH_SOCK;";
    };
  }

  /**
   * The line for the default socket: $XDG_RUNTIME_DIR/keymux/agent.sock (where keymux.socket
   * listens too). When XDG_RUNTIME_DIR is unset or empty (ssh into the machine before any
   * graphical login), the socket systemd keeps at /run/user/UID/keymux/agent.sock if it is
   * there, else the private /tmp fallback.
   */
  public String defaultSocketLine() {
    return defaultSocketLine(Posix.currentUid());
  }

  String defaultSocketLine(int uid) {
    String fallback = quote("/tmp/keymux-" + uid + "/agent.sock");
    String session = "/run/user/" + uid + "/keymux/agent.sock";
    return switch (this) {
      // fish's `set` keeps the status of the `test` before it; an if without else ends with 0.
      case FISH -> "set -gx SSH_AUTH_SOCK " + fallback + "; if test -S " + session + "; set -gx SSH_AUTH_SOCK " + session
          + "; end; if test -n \"$XDG_RUNTIME_DIR\"; set -gx SSH_AUTH_SOCK \"$XDG_RUNTIME_DIR/keymux/agent.sock\"; end;";
      // csh substitutes a one-line if's whole command before testing, so $XDG_RUNTIME_DIR must
      // not appear where it may be unset: printenv reads it, empty when unset; each later
      // command is substituted when it runs, so it sees the value set before it. sh tests for
      // the socket, which not every csh can.
      case CSH -> "setenv SSH_AUTH_SOCK \"`printenv XDG_RUNTIME_DIR`\"; "
          + "if ( \"$SSH_AUTH_SOCK\" != \"\" ) setenv SSH_AUTH_SOCK \"$SSH_AUTH_SOCK/keymux/agent.sock\"; "
          + "if ( \"$SSH_AUTH_SOCK\" == \"\" ) setenv SSH_AUTH_SOCK \"`sh -c 'test -S " + session + " && echo " + session
          + "'`\"; "
          + "if ( \"$SSH_AUTH_SOCK\" == \"\" ) setenv SSH_AUTH_SOCK " + fallback + ";";
      case POSIX -> "if [ -n \"${XDG_RUNTIME_DIR:-}\" ]; then SSH_AUTH_SOCK=\"$XDG_RUNTIME_DIR/keymux/agent.sock\"; "
          + "elif [ -S " + session + " ]; then SSH_AUTH_SOCK=" + session + "; "
          + "else SSH_AUTH_SOCK=" + fallback + "; fi; export SSH_AUTH_SOCK;";
    };
  }
}
