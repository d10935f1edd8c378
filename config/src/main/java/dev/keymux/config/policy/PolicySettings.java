package dev.keymux.config.policy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.keymux.config.policy.PolicyRule.Action;
import dev.keymux.core.agent.ClosestKey;
import dev.keymux.config.policy.PolicyRule.Match;
import java.nio.file.Path;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The policy part of the configuration — {@code keymux.rules}, {@code keymux.policy} and {@code
 * keymux.sockets} — read eagerly. Every problem is collected with the file, the line and the
 * setting's path, so one run of {@code keymux policy check} shows them all.
 */
public record PolicySettings(List<PolicyRule> rules, Action defaultAction, List<Path> knownHosts, String auditLog,
    boolean watch, List<SocketSettings> sockets) {
  public PolicySettings {
    rules = List.copyOf(rules);
    knownHosts = List.copyOf(knownHosts);
    sockets = List.copyOf(sockets);
  }

  private static final Set<String> RULE_KEYS = Set.of("name", "match", "action", "remember", "prefer");
  private static final Set<String> MATCH_KEYS = Set.of("fingerprint", "comment", "key-type", "backend", "uid",
      "client-exe", "client-name", "client-parent", "client-cmdline", "socket", "destination", "forwarded", "days",
      "hours");

  /**
   * @param backends names of the configured backends (rules and sockets may only name these)
   * @param mainSocket the main socket's path; scoped sockets default to a directory beside it
   * @param home for {@code ~} in paths
   */
  public static PolicySettings read(Config c, Set<String> backends, Path mainSocket, String home, List<String> problems) {
    PolicySettings.Reader r = new Reader(backends, home, problems);
    List<PolicyRule> rules = r.rules(c, "keymux.rules", "");
    Action defaultAction = r.get(() -> action(c, "keymux.policy.default-action"), Action.ALLOW);
    List<Path> knownHosts = r.get(() -> c.getStringList("keymux.policy.known-hosts").stream()
        .map(p -> Path.of(expandHome(p, home))).toList(), List.of());
    String audit = r.get(() -> c.getString("keymux.policy.audit-log"), "");
    boolean watch = r.get(() -> c.getBoolean("keymux.policy.watch"), true);
    List<SocketSettings> sockets = r.sockets(c, mainSocket);
    Set<String> names = new TreeSet<>();
    for (SocketSettings s : sockets) {
      names.add(s.name());
    }
    for (PolicyRule rule : rules) {
      for (String s : rule.match().sockets()) {
        if (!s.equals("main") && !names.contains(s)) {
          problems.add(rule.origin() + ": " + rule.label() + " names socket '" + s + "', which is not configured"
              + " (sockets: main" + (names.isEmpty() ? "" : ", " + String.join(", ", names)) + ")");
        }
      }
    }
    return new PolicySettings(rules, defaultAction, knownHosts, audit, watch, sockets);
  }

  static String expandHome(String path, String home) {
    return path.equals("~") || path.startsWith("~/") ? home + path.substring(1) : path;
  }

  private static Action action(Config c, String key) {
    String v = c.getString(key);
    try {
      return Action.valueOf(v.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ConfigException.BadValue(c.getValue(key).origin(), key,
          "must be allow, deny, hide or confirm, not '" + v + "'");
    }
  }

  /** Reads parts of the policy, adding each problem to the shared list instead of stopping. */
  private static final class Reader {
    private final Set<String> backends;
    private final String home;
    private final List<String> problems;

    Reader(Set<String> backends, String home, List<String> problems) {
      this.backends = backends;
      this.home = home;
      this.problems = problems;
    }

    <T> T get(java.util.function.Supplier<T> read, T placeholder) {
      try {
        return read.get();
      } catch (ConfigException e) {
        problems.add(e.getMessage());
        return placeholder;
      }
    }

    private void problem(ConfigValue at, String path, String what) {
      problems.add(at.origin().description() + ": " + path + ": " + what);
    }

    List<PolicyRule> rules(Config c, String path, String socket) {
      if (!c.hasPath(path)) {
        return List.of();
      }
      ConfigValue v = c.getValue(path);
      if (v.valueType() != ConfigValueType.LIST) {
        problem(v, path, "must be a list of rules, e.g. [ { match { destination = \"github.com\" }, action = allow } ]");
        return List.of();
      }
      List<PolicyRule> out = new ArrayList<>();
      ConfigList list = (ConfigList) v;
      for (int i = 0; i < list.size(); i++) {
        PolicyRule rule = rule(list.get(i), path + "[" + i + "]", i, socket);
        if (rule != null) {
          out.add(rule);
        }
      }
      return out;
    }

    private PolicyRule rule(ConfigValue v, String path, int index, String socket) {
      if (v.valueType() != ConfigValueType.OBJECT) {
        problem(v, path, "must be an object such as { match { ... }, action = allow }");
        return null;
      }
      ConfigObject obj = (ConfigObject) v;
      int before = problems.size();
      unknownKeys(obj, path, RULE_KEYS);
      Config rc = obj.toConfig();
      String origin = shortOrigin(v);
      String name = rc.hasPath("name") ? get(() -> rc.getString("name"), "") : "";
      String label = (name.isEmpty() ? "" : "'" + name + "' ") + "(" + (socket.isEmpty() ? "rule" : socket + " rule") + " #"
          + (index + 1) + ", " + origin + ")";
      Action action = Action.ALLOW;
      if (rc.hasPath("action")) {
        try {
          action = action(rc, "action");
        } catch (ConfigException e) {
          problem(rc.getValue("action"), path + ".action", "must be allow, deny, hide or confirm, not '"
              + rc.getValue("action").unwrapped() + "'");
        }
      }
      Duration remember = rc.hasPath("remember") ? get(() -> rc.getDuration("remember"), Duration.ZERO) : Duration.ZERO;
      if (!remember.isZero() && action != Action.CONFIRM) {
        problem(rc.getValue("remember"), path + ".remember", "only means something with action = confirm");
      }
      List<String> prefer = rc.hasPath("prefer") ? strings(rc, "prefer", path + ".prefer") : List.of();
      for (String b : prefer) {
        knownBackend(rc.getValue("prefer"), path + ".prefer", b);
      }
      Match match = rc.hasPath("match") ? match(rc.getValue("match"), path + ".match") : emptyMatch();
      return problems.size() > before || match == null ? null
          : new PolicyRule(label, origin, match, action, remember, prefer);
    }

    private Match match(ConfigValue v, String path) {
      if (v.valueType() != ConfigValueType.OBJECT) {
        problem(v, path, "must be an object, e.g. match { client-name = git }");
        return null;
      }
      ConfigObject obj = (ConfigObject) v;
      unknownKeys(obj, path, MATCH_KEYS);
      Config m = obj.toConfig();
      Function<String, List<String>> s = k -> m.hasPath(k) ? strings(m, k, path + "." + k) : List.of();
      List<String> backendNames = s.apply("backend");
      backendNames.forEach(b -> knownBackend(m.getValue("backend"), path + ".backend", b));
      List<String> fingerprints = s.apply("fingerprint");
      for (String fp : fingerprints) {
        if (!fp.startsWith("SHA256:") && !fp.startsWith("MD5:")) {
          problem(m.getValue("fingerprint"), path + ".fingerprint", "'" + fp
              + "' is not a fingerprint (SHA256:… or MD5:…, as ssh-add -l prints them); to match a comment use comment = ...");
        }
      }
      List<Integer> uids = new ArrayList<>();
      for (String u : s.apply("uid")) {
        try {
          uids.add(Integer.parseInt(u));
        } catch (NumberFormatException e) {
          problem(m.getValue("uid"), path + ".uid", "'" + u + "' is not a numeric uid");
        }
      }
      Boolean forwarded = m.hasPath("forwarded") ? get(() -> m.getBoolean("forwarded"), null) : null;
      Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
      for (String d : s.apply("days")) {
        DayOfWeek day = day(d);
        if (day == null) {
          problem(m.getValue("days"), path + ".days", "'" + d + "' is not a day (mon, tue, wed, thu, fri, sat, sun)");
        } else {
          days.add(day);
        }
      }
      LocalTime from = null;
      LocalTime to = null;
      if (m.hasPath("hours")) {
        String h = get(() -> m.getString("hours"), "");
        String[] parts = h.split("-");
        try {
          if (parts.length != 2) {
            throw new DateTimeParseException("", h, 0);
          }
          from = LocalTime.parse(parts[0].strip());
          to = LocalTime.parse(parts[1].strip());
        } catch (DateTimeParseException e) {
          problem(m.getValue("hours"), path + ".hours", "'" + h + "' is not a time range such as \"09:00-18:00\"");
        }
      }
      return new Match(fingerprints, s.apply("comment"), s.apply("key-type"), backendNames, uids, s.apply("client-exe"),
          s.apply("client-name"), s.apply("client-parent"), s.apply("client-cmdline"), s.apply("socket"),
          s.apply("destination"), forwarded, days, from, to);
    }

    private static DayOfWeek day(String d) {
      for (DayOfWeek day : DayOfWeek.values()) {
        String full = day.name().toLowerCase(Locale.ROOT);
        if (d.equalsIgnoreCase(full) || d.equalsIgnoreCase(full.substring(0, 3))) {
          return day;
        }
      }
      return null;
    }

    /** A string, or a list of strings (numbers and booleans read as their text). */
    private List<String> strings(Config c, String key, String path) {
      ConfigValue v = c.getValue(key);
      if (v.valueType() == ConfigValueType.LIST) {
        List<String> out = new ArrayList<>();
        for (ConfigValue e : (ConfigList) v) {
          if (e.valueType() == ConfigValueType.OBJECT || e.valueType() == ConfigValueType.LIST || e.valueType() == ConfigValueType.NULL) {
            problem(e, path, "must be a string or a list of strings");
          } else {
            out.add(String.valueOf(e.unwrapped()));
          }
        }
        return out;
      }
      if (v.valueType() == ConfigValueType.OBJECT || v.valueType() == ConfigValueType.NULL) {
        problem(v, path, "must be a string or a list of strings");
        return List.of();
      }
      return List.of(String.valueOf(v.unwrapped()));
    }

    private void knownBackend(ConfigValue at, String path, String name) {
      if (!backends.contains(name)) {
        problem(at, path, "names backend '" + name + "', which is not configured (backends: "
            + String.join(", ", new TreeSet<>(backends)) + ")");
      }
    }

    private void unknownKeys(ConfigObject obj, String path, Set<String> known) {
      for (Map.Entry<String, ConfigValue> e : obj.entrySet()) {
        if (!known.contains(e.getKey())) {
          String suggestion = ClosestKey.to(e.getKey(), known).orElse(null);
          problem(e.getValue(), path + "." + e.getKey(), "unknown setting"
              + (suggestion == null ? " (known: " + String.join(", ", new TreeSet<>(known)) + ")" : " — did you mean " + suggestion + "?"));
        }
      }
    }

    List<SocketSettings> sockets(Config c, Path mainSocket) {
      ConfigObject all = get(() -> c.getObject("keymux.sockets"), null);
      Config defaults = c.getConfig("keymux.socket-defaults");
      Set<String> known = defaults.root().keySet();
      List<SocketSettings> out = new ArrayList<>();
      if (all == null) {
        return out;
      }
      for (String name : new TreeSet<>(all.keySet())) {
        ConfigValue v = all.get(name);
        String path = "keymux.sockets." + name;
        if (v.valueType() == ConfigValueType.NULL) {
          continue; // turned off
        }
        if (v.valueType() != ConfigValueType.OBJECT) {
          problem(v, path, "must be an object, e.g. { backends = [deploy], allow-uids = [1000] }");
          continue;
        }
        if (name.equals("main")) {
          problem(v, path, "'main' is the name of the main socket (keymux.socket); choose another name");
          continue;
        }
        int before = problems.size();
        unknownKeys((ConfigObject) v, path, known);
        Config s = ((ConfigObject) v).toConfig().withFallback(defaults);
        String p = get(() -> s.getString("path"), "");
        Path socketPath = p.isEmpty() ? mainSocket.resolveSibling(name).resolve("agent.sock")
            : Path.of(expandHome(p, home)).toAbsolutePath();
        int mode = get(() -> mode(s, path + ".mode"), 0600);
        Set<Integer> uids = get(() -> Set.copyOf(s.getIntList("allow-uids")), Set.of());
        Set<Integer> gids = get(() -> Set.copyOf(s.getIntList("allow-gids")), Set.of());
        Duration expires = get(() -> s.getDuration("expires"), Duration.ZERO);
        List<String> socketBackends = get(() -> s.getStringList("backends"), List.of());
        if (socketBackends.isEmpty()) {
          problem(v, path + ".backends", "a scoped socket must name the backends it offers (narrow on purpose), e.g. backends = [deploy]");
        }
        socketBackends.forEach(b -> knownBackend(s.getValue("backends"), path + ".backends", b));
        List<String> keys = get(() -> s.getStringList("keys"), List.of());
        boolean confirm = get(() -> s.getBoolean("confirm"), false);
        List<PolicyRule> rules = rules(s, "rules", name);
        String owner = get(() -> s.getString("owner"), "");
        String group = get(() -> s.getString("group"), "");
        if (problems.size() == before) {
          out.add(new SocketSettings(name, socketPath, mode, owner, group, uids, gids, expires, socketBackends, keys,
              confirm, rules));
        }
      }
      Set<Path> paths = new LinkedHashSet<>(List.of(mainSocket));
      for (SocketSettings s : out) {
        if (!paths.add(s.path())) {
          problems.add("keymux.sockets." + s.name() + ".path: " + s.path() + " is already used by another socket");
        }
      }
      return out;
    }

    private static int mode(Config s, String path) {
      String m = s.getString("mode");
      try {
        int mode = Integer.parseInt(m, 8);
        if (mode < 0 || mode > 0777 || (mode & 0600) != 0600) {
          throw new NumberFormatException();
        }
        if ((mode & 0060) != 0 && (mode & 0060) != 0060 || (mode & 0006) != 0 && (mode & 0006) != 0006) {
          // Connecting to a Unix socket needs write permission; read alone lets nobody in.
          throw new ConfigException.BadValue(s.getValue("mode").origin(), path, "'" + m
              + "' gives read without write (or write without read); a client needs both to connect, e.g. \"0660\"");
        }
        return mode;
      } catch (NumberFormatException e) {
        throw new ConfigException.BadValue(s.getValue("mode").origin(), path,
            "must be octal permissions that include owner read/write, such as \"0600\" or \"0660\", not '" + m + "'");
      }
    }
  }

  private static Match emptyMatch() {
    return new Match(List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of(),
        List.of(), List.of(), null, Set.of(), null, null);
  }

  /** "keymux.conf:12" rather than Typesafe Config's longer description. */
  static String shortOrigin(ConfigValue v) {
    var o = v.origin();
    String file = o.filename() != null ? Path.of(o.filename()).getFileName().toString()
        : o.resource() != null ? o.resource() : o.description();
    return o.lineNumber() > 0 ? file + ":" + o.lineNumber() : file;
  }
}
