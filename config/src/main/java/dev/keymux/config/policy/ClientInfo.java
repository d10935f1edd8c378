package dev.keymux.config.policy;

import dev.keymux.core.prompt.Requester;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What rules can know about the process at the other end of a connection, read once from
 * {@code /proc} through the peer's pid (SO_PEERCRED): its executable, its name, its command line
 * and the executables of its ancestors, nearest first. Anything unreadable is empty: a rule that
 * needs it then simply does not match.
 */
public record ClientInfo(long pid, String exe, String name, String cmdline, List<String> ancestors) {
  /** Ancestors read at most (a loop guard; real chains are a handful deep). */
  private static final int MAX_DEPTH = 32;

  public static final ClientInfo UNKNOWN = new ClientInfo(-1, "", "", "", List.of());

  public ClientInfo {
    ancestors = List.copyOf(ancestors);
  }

  /** Reads the process {@code pid} and its ancestors from {@code procRoot} (normally /proc). */
  public static ClientInfo read(Path procRoot, long pid) {
    if (pid <= 0) {
      return UNKNOWN;
    }
    String exe = exe(procRoot, pid);
    String cmdline = cmdline(procRoot, pid);
    List<String> ancestors = new ArrayList<>();
    long p = parent(procRoot, pid);
    for (int i = 0; i < MAX_DEPTH && p > 0; i++) {
      String e = exe(procRoot, p);
      ancestors.add(e.isEmpty() ? comm(procRoot, p) : e);
      if (p == 1) {
        break;
      }
      p = parent(procRoot, p);
    }
    String name = exe.isEmpty() ? comm(procRoot, pid) : Path.of(exe).getFileName().toString();
    return new ClientInfo(pid, exe, name, cmdline, ancestors);
  }

  private static String exe(Path proc, long pid) {
    try {
      String target = Files.readSymbolicLink(proc.resolve(Long.toString(pid)).resolve("exe")).toString();
      // A program replaced while running reads as "/usr/bin/x (deleted)": the path still says who it was.
      return target.endsWith(" (deleted)") ? target.substring(0, target.length() - 10) : target;
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return "";
    }
  }

  private static String comm(Path proc, long pid) {
    try {
      return Files.readString(proc.resolve(Long.toString(pid)).resolve("comm"), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "";
    }
  }

  private static String cmdline(Path proc, long pid) {
    try {
      byte[] raw = Files.readAllBytes(proc.resolve(Long.toString(pid)).resolve("cmdline"));
      return new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').strip();
    } catch (IOException e) {
      return "";
    }
  }

  /** The parent pid from /proc/PID/stat (field 4, after the parenthesised name, which may hold spaces). */
  private static long parent(Path proc, long pid) {
    try {
      String stat = Files.readString(proc.resolve(Long.toString(pid)).resolve("stat"), StandardCharsets.UTF_8);
      String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(rest[1]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The executable's path and, when it has one, its parent's, for logs and explanations. */
  public String describe() {
    return Requester.describeClient(exe.isEmpty() ? name : exe, pid);
  }
}
