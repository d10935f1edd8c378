package dev.keymux.core.prompt;

import dev.keymux.core.agent.Session;
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
 * controlling terminal in {@code /proc/PID/stat}. That terminal is used only when whatever is
 * typed there can only reach keymux:
 * <ul>
 *   <li>the client runs as keymux's own uid (a client of another user, through a grant or an
 *       allowed uid, must not see the question, let alone answer it or read the PIN) and the
 *       terminal is owned by that uid;
 *   <li>the request did not come through agent forwarding: the local {@code ssh -A} reads that
 *       terminal in raw mode, so what is typed would go to the remote shell;
 *   <li>the client is in the terminal's foreground process group: a background job
 *       ({@code git fetch &}) shares its terminal with a shell that reads it.
 * </ul>
 * Failing that, keymux's own controlling terminal (started by hand), when keymux is in its
 * foreground: reading it from the background would stop keymux (SIGTTIN).
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

  /** The client's terminal when it is safe to ask there (see above), else keymux's own, else empty. */
  Optional<Terminal> find(Session session) {
    long clientPid = session.peer().pid();
    if (whyNotClients(session) == null) {
      Optional<Path> client = device(clientPid);
      if (client.isPresent()) {
        return Optional.of(terminal(client.get(), environment(clientPid), "the client's terminal"));
      }
    }
    return whyNotOwn() == null ? ownDevice().map(d -> terminal(d, ownEnv, "keymux's terminal")) : Optional.empty();
  }

  /** Why {@link #find} found nothing, for the log. */
  String whyNone(Session session) {
    String client = whyNotClients(session);
    String own = whyNotOwn();
    return (client == null ? "the client's terminal is gone" : client) + ", and "
        + (own == null ? "keymux's own terminal is gone" : own);
  }

  /** Why the client's terminal must not be asked on, or null when it may. */
  private String whyNotClients(Session session) {
    long clientPid = session.peer().pid();
    if (clientPid <= 0) {
      return "the client's pid is unknown";
    }
    if (session.peer().uid() != uid) {
      return "the client (pid " + clientPid + ") runs as uid " + session.peer().uid() + ", not keymux's uid " + uid
          + ", so its terminal is not keymux's user's to ask on";
    }
    if (session.forwarded()) {
      return "the request came through agent forwarding (the local ssh reads the client's terminal, so an answer"
          + " would go to the remote side)";
    }
    Optional<Path> d = device(clientPid);
    if (d.isEmpty()) {
      return "the client (pid " + clientPid + ") has no terminal";
    }
    if (!ownedByUs(d.get())) {
      return "the client's terminal " + d.get() + " does not belong to keymux's uid " + uid;
    }
    if (!inForeground(clientPid)) {
      return "the client (pid " + clientPid + ") is not in the foreground of its terminal " + d.get()
          + " (a background job: another program reads that terminal)";
    }
    return null;
  }

  /** Why keymux's own terminal must not be asked on, or null when it may. */
  private String whyNotOwn() {
    long self = ProcessHandle.current().pid();
    if (stat(self).map(Stat::ttyNr).orElse(0L) == 0) {
      return "keymux has no terminal of its own";
    }
    if (!inForeground(self)) {
      return "keymux runs in the background of its terminal (reading it would stop keymux)";
    }
    return null;
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
    // /dev/tty always names the process's own controlling terminal, even when its device is not found.
    return device(ProcessHandle.current().pid()).or(() -> Optional.of(Path.of("/dev/tty")));
  }

  /** The controlling terminal of {@code pid} as a device file whose device number matches, if any. */
  Optional<Path> device(long pid) {
    if (pid <= 0) {
      return Optional.empty();
    }
    long nr = stat(pid).map(Stat::ttyNr).orElse(0L);
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

  /** Fields 5 (pgrp), 7 (tty_nr) and 8 (tpgid: the terminal's foreground process group) of /proc/PID/stat. */
  private record Stat(long pgrp, long ttyNr, long tpgid) {}

  /** /proc/PID/stat, its fields counted after the parenthesised name, which may hold spaces. */
  private Optional<Stat> stat(long pid) {
    try {
      String stat = Files.readString(proc.resolve(Long.toString(pid)).resolve("stat"), StandardCharsets.UTF_8);
      String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Optional.of(new Stat(Long.parseLong(rest[2]), Long.parseLong(rest[4]), Long.parseLong(rest[5])));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** True when {@code pid}'s process group is the foreground process group of its terminal. */
  private boolean inForeground(long pid) {
    return stat(pid).filter(s -> s.ttyNr() != 0 && s.tpgid() > 0 && s.tpgid() == s.pgrp()).isPresent();
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
