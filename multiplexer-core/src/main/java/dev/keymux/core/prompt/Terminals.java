package dev.keymux.core.prompt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where a terminal prompt appears. keymux usually runs in the background (a systemd user
 * service) without a terminal, so the prompt goes to the terminal of the client that asked — the
 * {@code ssh} or {@code git} the user is looking at — found through its pid (SO_PEERCRED) and the
 * controlling terminal in {@code /proc/PID/stat}. Only a terminal owned by keymux's own uid is
 * used: a client of another user (an allowed uid, a scoped socket) must not be shown the question,
 * let alone answer it. Failing that, keymux's own controlling terminal (started by hand).
 */
final class Terminals {
  /** Major device numbers of Unix98 pty slaves (/dev/pts/N) and of virtual consoles and serial lines. */
  private static final int PTS_FIRST_MAJOR = 136;
  private static final int PTS_LAST_MAJOR = 143;
  private static final int TTY_MAJOR = 4;
  /** Minors of TTY_MAJOR from here on are serial lines (ttyS0 = 64). */
  private static final int FIRST_SERIAL_MINOR = 64;
  /** What a terminal prompt needs to know of the environment the terminal belongs to. */
  private static final Set<String> TERMINAL_VARIABLES = Set.of("TERM", "LC_ALL", "LC_CTYPE", "LANG");

  /**
   * A terminal to ask on: its device, its type (TERM) and locale, and whose it is for messages.
   */
  record Terminal(Path device, String type, String ctype, String whose) {}

  private final Path proc;
  private final int uid;
  private final Map<String, String> ownEnv;

  Terminals(Path proc, int uid, Map<String, String> ownEnv) {
    this.proc = proc;
    this.uid = uid;
    this.ownEnv = Map.copyOf(ownEnv);
  }

  /** The client's terminal when keymux's uid owns it, else keymux's own, else empty. */
  Optional<Terminal> find(long clientPid) {
    Optional<Path> client = device(clientPid).filter(this::ownedByUs);
    if (client.isPresent()) {
      return Optional.of(terminal(client.get(), environment(clientPid), "the client's terminal"));
    }
    return ownDevice().map(d -> terminal(d, ownEnv, "keymux's terminal"));
  }

  /** Why {@link #find} found nothing, for the log. */
  String whyNone(long clientPid) {
    String client;
    if (clientPid <= 0) {
      client = "the client's pid is unknown";
    } else {
      Optional<Path> d = device(clientPid);
      client = d.isEmpty() ? "the client (pid " + clientPid + ") has no terminal"
          : "the client's terminal " + d.get() + " does not belong to keymux's uid " + uid;
    }
    return client + ", and keymux has no terminal of its own";
  }

  private static Terminal terminal(Path device, Map<String, String> env, String whose) {
    String type = env.getOrDefault("TERM", "");
    String ctype = firstNonEmpty(env.get("LC_ALL"), env.get("LC_CTYPE"), env.get("LANG"));
    return new Terminal(device, type.isEmpty() || type.equals("dumb") ? "vt100" : type, ctype, whose);
  }

  private static String firstNonEmpty(String... values) {
    for (String v : values) {
      if (v != null && !v.isEmpty()) {
        return v;
      }
    }
    return "";
  }

  private Optional<Path> ownDevice() {
    long self = ProcessHandle.current().pid();
    if (ttyNumber(self) == 0) {
      return Optional.empty();
    }
    // /dev/tty always names the process's own controlling terminal, even when its device is not found.
    return device(self).or(() -> Optional.of(Path.of("/dev/tty")));
  }

  /** The controlling terminal of {@code pid} as a device file whose device number matches, if any. */
  Optional<Path> device(long pid) {
    if (pid <= 0) {
      return Optional.empty();
    }
    long nr = ttyNumber(pid);
    if (nr == 0) {
      return Optional.empty();
    }
    // The kernel's encoding of dev_t (new_encode_dev), which is also how glibc reports st_rdev.
    long major = (nr >> 8) & 0xfff;
    long minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
    Path candidate;
    if (major >= PTS_FIRST_MAJOR && major <= PTS_LAST_MAJOR) {
      candidate = Path.of("/dev/pts", Long.toString((major - PTS_FIRST_MAJOR) * 256 + minor));
    } else if (major == TTY_MAJOR) {
      candidate = Path.of("/dev", minor < FIRST_SERIAL_MINOR ? "tty" + minor : "ttyS" + (minor - FIRST_SERIAL_MINOR));
    } else {
      return Optional.empty();
    }
    try {
      Object rdev = Files.getAttribute(candidate, "unix:rdev");
      return rdev instanceof Long r && r == nr ? Optional.of(candidate) : Optional.empty();
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private boolean ownedByUs(Path device) {
    try {
      return Files.getAttribute(device, "unix:uid") instanceof Integer owner && owner == uid;
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return false;
    }
  }

  /** Field 7 of /proc/PID/stat (tty_nr), counted after the parenthesised name, which may hold spaces. */
  private long ttyNumber(long pid) {
    try {
      String stat = Files.readString(proc.resolve(Long.toString(pid)).resolve("stat"), StandardCharsets.UTF_8);
      String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(rest[4]);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** TERM and the locale from the client's environment: the terminal is set up for those. */
  private Map<String, String> environment(long pid) {
    Map<String, String> out = new HashMap<>();
    byte[] raw = new byte[0];
    try {
      raw = Files.readAllBytes(proc.resolve(Long.toString(pid)).resolve("environ"));
      int start = 0;
      for (int i = 0; i <= raw.length; i++) {
        if (i == raw.length || raw[i] == 0) {
          int eq = indexOf(raw, (byte) '=', start, i);
          if (eq > start) {
            String name = new String(raw, start, eq - start, StandardCharsets.UTF_8);
            if (TERMINAL_VARIABLES.contains(name)) {
              out.put(name, new String(raw, eq + 1, i - eq - 1, StandardCharsets.UTF_8));
            }
          }
          start = i + 1;
        }
      }
    } catch (IOException e) {
      // unreadable: defaults
    } finally {
      Arrays.fill(raw, (byte) 0); // the client's other variables may hold its secrets
    }
    return out;
  }

  private static int indexOf(byte[] a, byte b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (a[i] == b) {
        return i;
      }
    }
    return -1;
  }
}
