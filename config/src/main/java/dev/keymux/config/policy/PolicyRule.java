package dev.keymux.config.policy;

import dev.keymux.core.policy.Glob;
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

    /** What {@link #mismatch} says when no explanation was asked for: building reasons costs more than matching. */
    static final String NO = "not matched";

    /**
     * Null when every criterion matches {@code f}; otherwise why not (the first criterion that
     * fails), spelt out only when {@code explain}.
     */
    String mismatch(Facts f, boolean explain) {
      KeyFacts k = f.key();
      if (!fingerprints.isEmpty() && fingerprints.stream().noneMatch(k::hasFingerprint)) {
        return explain ? "key " + k.sha256() + " is not " + String.join(" or ", fingerprints) : NO;
      }
      if (!comments.isEmpty() && comments.stream().noneMatch(p -> k.comments().stream().anyMatch(c -> Glob.matches(p, c, false)))) {
        return explain ? "key comment " + k.comments() + " does not match " + comments : NO;
      }
      if (!keyTypes.isEmpty() && keyTypes.stream().noneMatch(p -> Glob.matches(p, k.type(), false))) {
        return explain ? "key type " + k.type() + " does not match " + keyTypes : NO;
      }
      if (!backends.isEmpty() && backends.stream().noneMatch(k.backends()::contains)) {
        return explain ? "key is held by " + k.backends() + ", not " + backends : NO;
      }
      if (!uids.isEmpty() && !uids.contains(f.uid())) {
        return explain ? "client uid " + f.uid() + " is not " + uids : NO;
      }
      if (!sockets.isEmpty() && !sockets.contains(f.socket())) {
        return explain ? "socket " + f.socket() + " is not " + sockets : NO;
      }
      if (forwarded != null && forwarded != f.forwarded()) {
        return explain ? forwarded ? "connection is not forwarded" : "connection is forwarded" : NO;
      }
      if (!destinations.isEmpty()) {
        if (f.hostKey() == null) {
          return explain ? "no destination (the client did not bind the connection to a host)" : NO;
        }
        if (destinations.stream().noneMatch(d -> f.knownHosts().matches(f.hostKey(), d))) {
          if (!explain) {
            return NO;
          }
          List<String> names = f.knownHosts().namesOf(f.hostKey());
          return explain ? "destination " + (names.isEmpty() ? "(host key not in known_hosts)" : names) + " is not " + destinations : NO;
        }
      }
      if (!days.isEmpty() && !days.contains(f.now().getDayOfWeek())) {
        return explain ? "today (" + f.now().getDayOfWeek() + ") is not one of " + days : NO;
      }
      if (from != null && !withinHours(f.now().toLocalTime())) {
        return explain ? "time " + f.now().toLocalTime().withNano(0) + " is outside " + from + "-" + to : NO;
      }
      if (needsClient()) {
        ClientInfo c = f.client().get();
        if (!clientExes.isEmpty() && clientExes.stream().noneMatch(p -> Glob.matches(p, c.exe(), false))) {
          return explain ? "client " + describe(c.exe()) + " does not match " + clientExes : NO;
        }
        if (!clientNames.isEmpty() && clientNames.stream().noneMatch(p -> Glob.matches(p, c.name(), false))) {
          return explain ? "client name " + describe(c.name()) + " does not match " + clientNames : NO;
        }
        if (!clientParents.isEmpty() && clientParents.stream().noneMatch(p -> c.ancestors().stream()
            .anyMatch(a -> Glob.matches(p, a, false) || Glob.matches(p, baseName(a), false)))) {
          return explain ? "no parent of the client matches " + clientParents : NO;
        }
        if (!clientCmdlines.isEmpty() && clientCmdlines.stream().noneMatch(p -> Glob.matches(p, c.cmdline(), false))) {
          return explain ? "client command line does not match " + clientCmdlines : NO;
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
