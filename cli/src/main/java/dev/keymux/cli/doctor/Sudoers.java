package dev.keymux.cli.doctor;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Whether sudo passes SSH_AUTH_SOCK on to the command it runs, worked out from the {@code Defaults}
 * lines of sudoers as sudo applies them: in order, through {@code @include}/{@code #include} and
 * {@code @includedir}/{@code #includedir} (files whose name contains a dot or ends with ~ are
 * skipped, the rest read in name order), later settings overriding earlier ones. With
 * {@code env_reset} (sudo's default) a variable survives only when {@code env_keep} names it
 * (a trailing {@code *} matches a prefix); with {@code !env_reset} it survives unless
 * {@code env_delete} names it.
 *
 * <p>Scoped defaults count when they name this user ({@code Defaults:alice}), root as the target
 * ({@code Defaults>root}), this host ({@code Defaults@laptop}) or ALL; per-command defaults
 * ({@code Defaults!/usr/bin/git}) and groups in a user list ({@code %wheel}) are not followed:
 * they change only some sudo calls, and the verdict says which line decided.
 */
final class Sudoers {
  static final String VARIABLE = "SSH_AUTH_SOCK";
  /** sudo's own limit on nested includes. */
  private static final int MAX_INCLUDE_DEPTH = 128;
  private static final Pattern INCLUDE = Pattern.compile("^[@#](include|includedir)\\s+(\"(?:[^\"\\\\]|\\\\.)*\"|\\S+)\\s*$");
  private static final Pattern DEFAULTS = Pattern.compile("^Defaults(?:([:@!>])(\\S+))?\\s+(.*)$");
  private static final Pattern SETTING = Pattern.compile("^(!*)\\s*([A-Za-z_][A-Za-z0-9_]*)\\s*(?:([+-]?=)\\s*(.*))?$");

  /**
   * What sudo does with SSH_AUTH_SOCK.
   *
   * @param kept whether it reaches the command
   * @param because the setting and where it stands ({@code /etc/sudoers.d/keymux:1: env_keep += ...})
   * @param unreadable included files that could not be read: the verdict leaves them out
   */
  record Verdict(boolean kept, String because, List<Path> unreadable) {}

  private final Path root;
  private final String user;
  private final String host;
  private boolean envReset = true;
  private String envResetAt = "sudo's default (env_reset)";
  private final Set<String> keep = new LinkedHashSet<>();
  private String keepAt = "";
  private final Set<String> delete = new LinkedHashSet<>();
  private String deleteAt = "";
  private final List<Path> unreadable = new ArrayList<>();

  /**
   * @param root where absolute paths in include lines are looked up ("/" except in tests)
   * @param user the user who runs sudo
   * @param host this host's name, for {@code Defaults@host}
   */
  private Sudoers(Path root, String user, String host) {
    this.root = root;
    this.user = user;
    this.host = host;
  }

  /** The verdict of the sudoers file {@code sudoers} and everything it includes; IOException when it cannot be read. */
  static Verdict read(Path sudoers, Path root, String user, String host) throws IOException {
    Sudoers s = new Sudoers(root, user, host);
    s.file(sudoers, Files.readAllLines(sudoers), 0);
    return s.verdict();
  }

  /**
   * The verdict from what {@code sudo -l} prints under "Matching Defaults entries for USER on
   * HOST:" (sudo has already picked the entries that apply); null when the output has no such
   * section.
   */
  static Verdict fromSudoList(String output) {
    List<String> lines = output.lines().toList();
    int start = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).startsWith("Matching Defaults entries for ")) {
        start = i + 1;
        break;
      }
    }
    if (start < 0) {
      return null;
    }
    StringBuilder entries = new StringBuilder();
    for (int i = start; i < lines.size() && !lines.get(i).isBlank(); i++) {
      entries.append(' ').append(lines.get(i).strip());
    }
    Sudoers s = new Sudoers(Path.of("/"), "", "");
    s.settings(entries.toString(), "sudo -l");
    return s.verdict();
  }

  private Verdict verdict() {
    if (envReset) {
      boolean kept = names(keep);
      return new Verdict(kept, kept ? keepAt
          : envResetAt + ", and no env_keep names " + VARIABLE + (keepAt.isEmpty() ? "" : " (last changed at " + keepAt + ")"),
          List.copyOf(unreadable));
    }
    boolean deleted = names(delete);
    return new Verdict(!deleted, deleted ? deleteAt : envResetAt, List.copyOf(unreadable));
  }

  /** Whether a sudo variable list names SSH_AUTH_SOCK, exactly or by a trailing-* pattern. */
  private static boolean names(Set<String> list) {
    return list.stream().anyMatch(v -> v.equals(VARIABLE) || v.endsWith("*") && VARIABLE.startsWith(v.substring(0, v.length() - 1)));
  }

  private void file(Path path, List<String> raw, int depth) {
    List<String> lines = joinContinuations(raw);
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      String where = path + ":" + (i + 1);
      Matcher inc = INCLUDE.matcher(line);
      if (inc.matches()) {
        include(path, unquote(inc.group(2)), inc.group(1).equals("includedir"), depth);
        continue;
      }
      line = stripComment(line);
      Matcher d = DEFAULTS.matcher(line);
      if (d.matches() && applies(d.group(1), d.group(2))) {
        settings(d.group(3), where);
      }
    }
  }

  /**
   * Joins lines ending in a backslash with the next, keeping one list entry per physical line so
   * line numbers stay right (the joined text sits at the first line, the rest become empty).
   */
  private static List<String> joinContinuations(List<String> raw) {
    List<String> out = new ArrayList<>();
    StringBuilder pending = null;
    int pendingAt = 0;
    for (String l : raw) {
      if (pending != null) {
        out.add("");
      }
      boolean continues = l.endsWith("\\") && !l.endsWith("\\\\");
      String text = continues ? l.substring(0, l.length() - 1) : l;
      if (pending == null) {
        pending = new StringBuilder(text);
        pendingAt = out.size();
        out.add("");
      } else {
        pending.append(' ').append(text);
      }
      if (!continues) {
        out.set(pendingAt, pending.toString());
        pending = null;
      }
    }
    if (pending != null) {
      out.set(pendingAt, pending.toString());
    }
    return out;
  }

  private void include(Path from, String target, boolean directory, int depth) {
    if (depth >= MAX_INCLUDE_DEPTH) {
      return;
    }
    Path p = target.startsWith("/") ? root.resolve(target.substring(1)) : from.toAbsolutePath().getParent().resolve(target);
    if (!directory) {
      includeFile(p, depth);
      return;
    }
    Set<Path> files = new TreeSet<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(p)) {
      for (Path f : ds) {
        String name = f.getFileName().toString();
        if (!name.endsWith("~") && !name.contains(".") && Files.isRegularFile(f)) {
          files.add(f);
        }
      }
    } catch (IOException e) {
      if (Files.exists(p)) {
        unreadable.add(p);
      }
      return;
    }
    files.forEach(f -> includeFile(f, depth));
  }

  private void includeFile(Path p, int depth) {
    try {
      file(p, Files.readAllLines(p), depth + 1);
    } catch (IOException e) {
      if (Files.exists(p)) {
        unreadable.add(p);
      }
    }
  }

  /** Whether a {@code Defaults} line with this scope applies to our user running commands as root. */
  private boolean applies(String kind, String list) {
    if (kind == null) {
      return true;
    }
    Set<String> names = Set.of(list.split(","));
    return switch (kind) {
      case ":" -> names.contains("ALL") || names.contains(user);
      case ">" -> names.contains("ALL") || names.contains("root") || names.contains("#0");
      case "@" -> names.contains("ALL") || names.contains(host);
      default -> false; // per-command defaults
    };
  }

  /** One comma-separated list of settings, as after {@code Defaults}. */
  private void settings(String text, String where) {
    for (String item : splitOutsideQuotes(text)) {
      Matcher m = SETTING.matcher(item.strip());
      if (!m.matches()) {
        continue;
      }
      boolean negated = m.group(1).length() % 2 == 1;
      String name = m.group(2);
      String op = m.group(3);
      List<String> words = op == null ? List.of() : List.of(unquote(m.group(4).strip()).strip().split("\\s+"));
      String at = where + ": " + item.strip();
      switch (name) {
        case "env_reset" -> {
          envReset = !negated;
          envResetAt = at;
        }
        case "env_keep" -> keepAt = change(keep, negated, op, words, at, keepAt);
        case "env_delete" -> deleteAt = change(delete, negated, op, words, at, deleteAt);
        default -> { }
      }
    }
  }

  /** Applies {@code =}, {@code +=}, {@code -=} or {@code !} to a variable list; returns where it last changed. */
  private static String change(Set<String> list, boolean negated, String op, List<String> words, String at, String before) {
    if (negated || "=".equals(op)) {
      list.clear();
    }
    if ("-=".equals(op)) {
      words.forEach(list::remove);
    } else if (op != null) {
      words.stream().filter(w -> !w.isEmpty()).forEach(list::add);
    }
    return negated || "=".equals(op) || words.stream().anyMatch(w -> names(Set.of(w))) ? at : before;
  }

  /** Splits at commas that are neither quoted nor escaped. */
  private static List<String> splitOutsideQuotes(String text) {
    List<String> parts = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\\' && i + 1 < text.length()) {
        cur.append(c).append(text.charAt(++i));
      } else if (c == '"') {
        quoted = !quoted;
        cur.append(c);
      } else if (c == ',' && !quoted) {
        parts.add(cur.toString());
        cur.setLength(0);
      } else {
        cur.append(c);
      }
    }
    parts.add(cur.toString());
    return parts;
  }

  /** Drops an unquoted {@code #} and what follows. */
  private static String stripComment(String line) {
    boolean quoted = false;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == '#' && !quoted) {
        return line.substring(0, i).strip();
      }
    }
    return line;
  }

  /** A value without its surrounding double quotes, backslash escapes resolved. */
  private static String unquote(String v) {
    String s = v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 1 < s.length()) {
        c = s.charAt(++i);
      }
      out.append(c);
    }
    return out.toString();
  }
}
