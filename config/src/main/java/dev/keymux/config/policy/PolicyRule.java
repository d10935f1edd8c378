package dev.keymux.config.policy;

import java.time.DayOfWeek;
import java.time.Duration;
import java.time.LocalTime;
import java.util.List;
import java.util.Set;

/**
 * One policy rule: where it was written, what it matches and what it decides. Rules are tried in
 * order and the first whose every criterion matches decides; a criterion left out matches
 * anything.
 *
 * @param label how explanations and the audit log name the rule: its {@code name}, else its
 *     position and file:line
 * @param remember for {@code confirm}: how long a yes is remembered for the same client program
 *     and key (zero: ask every time)
 * @param prefer backends to sign with first when several hold the key
 */
public record PolicyRule(String label, String origin, Match match, Action action, Duration remember, List<String> prefer) {
  public enum Action {
    /** Offer the key and sign with it. */
    ALLOW,
    /** Neither offer the key nor sign with it. */
    DENY,
    /** Do not offer the key, but sign with it when a client that already knows it asks. */
    HIDE,
    /** Offer the key; ask the user (askpass yes/no) before each signature. */
    CONFIRM
  }

  public PolicyRule {
    prefer = List.copyOf(prefer);
  }

  /**
   * The criteria of a rule. Each list means "any of these"; an empty list or a null value means
   * the criterion is absent.
   */
  public record Match(
      List<String> fingerprints,
      List<String> comments,
      List<String> keyTypes,
      List<String> backends,
      List<Integer> uids,
      List<String> clientExes,
      List<String> clientNames,
      List<String> clientParents,
      List<String> clientCmdlines,
      List<String> sockets,
      List<String> destinations,
      Boolean forwarded,
      Set<DayOfWeek> days,
      LocalTime from,
      LocalTime to) {

    /** Whether the rule can only be decided once the client process is known (worth reading /proc for). */
    boolean needsClient() {
      return !clientExes.isEmpty() || !clientNames.isEmpty() || !clientParents.isEmpty() || !clientCmdlines.isEmpty();
    }

    /** Null when every criterion matches {@code f}; otherwise why not (the first criterion that fails). */
    String mismatch(Facts f) {
      KeyFacts k = f.key();
      if (!fingerprints.isEmpty() && fingerprints.stream().noneMatch(k::hasFingerprint)) {
        return "key " + k.sha256() + " is not " + String.join(" or ", fingerprints);
      }
      if (!comments.isEmpty() && comments.stream().noneMatch(p -> k.comments().stream().anyMatch(c -> Glob.matches(p, c, false)))) {
        return "key comment " + k.comments() + " does not match " + comments;
      }
      if (!keyTypes.isEmpty() && keyTypes.stream().noneMatch(p -> Glob.matches(p, k.type(), false))) {
        return "key type " + k.type() + " does not match " + keyTypes;
      }
      if (!backends.isEmpty() && backends.stream().noneMatch(k.backends()::contains)) {
        return "key is held by " + k.backends() + ", not " + backends;
      }
      if (!uids.isEmpty() && !uids.contains(f.uid())) {
        return "client uid " + f.uid() + " is not " + uids;
      }
      if (!sockets.isEmpty() && !sockets.contains(f.socket())) {
        return "socket " + f.socket() + " is not " + sockets;
      }
      if (forwarded != null && forwarded != f.forwarded()) {
        return forwarded ? "connection is not forwarded" : "connection is forwarded";
      }
      if (!destinations.isEmpty()) {
        if (f.hostKey() == null) {
          return "no destination (the client did not bind the connection to a host)";
        }
        if (destinations.stream().noneMatch(d -> f.knownHosts().matches(f.hostKey(), d))) {
          List<String> names = f.knownHosts().namesOf(f.hostKey());
          return "destination " + (names.isEmpty() ? "(host key not in known_hosts)" : names) + " is not " + destinations;
        }
      }
      if (!days.isEmpty() && !days.contains(f.now().getDayOfWeek())) {
        return "today (" + f.now().getDayOfWeek() + ") is not one of " + days;
      }
      if (from != null && !withinHours(f.now().toLocalTime())) {
        return "time " + f.now().toLocalTime().withNano(0) + " is outside " + from + "-" + to;
      }
      if (needsClient()) {
        ClientInfo c = f.client().get();
        if (!clientExes.isEmpty() && clientExes.stream().noneMatch(p -> Glob.matches(p, c.exe(), false))) {
          return "client " + describe(c.exe()) + " does not match " + clientExes;
        }
        if (!clientNames.isEmpty() && clientNames.stream().noneMatch(p -> Glob.matches(p, c.name(), false))) {
          return "client name " + describe(c.name()) + " does not match " + clientNames;
        }
        if (!clientParents.isEmpty() && clientParents.stream().noneMatch(p -> c.ancestors().stream()
            .anyMatch(a -> Glob.matches(p, a, false) || Glob.matches(p, baseName(a), false)))) {
          return "no parent of the client matches " + clientParents;
        }
        if (!clientCmdlines.isEmpty() && clientCmdlines.stream().noneMatch(p -> Glob.matches(p, c.cmdline(), false))) {
          return "client command line does not match " + clientCmdlines;
        }
      }
      return null;
    }

    private boolean withinHours(LocalTime t) {
      return from.isBefore(to) ? !t.isBefore(from) && t.isBefore(to) : !t.isBefore(from) || t.isBefore(to);
    }

    private static String describe(String s) {
      return s.isEmpty() ? "(unknown)" : s;
    }

    private static String baseName(String path) {
      int slash = path.lastIndexOf('/');
      return slash < 0 ? path : path.substring(slash + 1);
    }
  }
}
