package dev.keymux.core.keyring;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.wire.KeyConstraint;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * The constraints keymux honours on added keys — a lifetime ({@code ssh-add -t}), confirm on
 * use ({@code ssh-add -c}) and, where the holder can enforce it, a destination restriction
 * ({@code ssh-add -h}; null when there is none). Any other constraint refuses the whole add, as
 * OpenSSH does: adding a key without its restriction would make it wider than the user asked.
 */
public record SupportedConstraints(Duration lifetime, boolean confirm, DestinationRestriction restriction,
    String skProvider) {
  /** For holders that cannot enforce a destination restriction: one refuses the key. */
  public static SupportedConstraints of(List<KeyConstraint> constraints, Duration defaultLifetime, String what)
      throws AgentException {
    return of(constraints, defaultLifetime, what, null);
  }

  /**
   * @param clock when not null (the in-memory keyring), restrict-destination and sk-provider
   *     constraints are accepted (host certificates are judged by this clock); when null they
   *     refuse the key
   * @param defaultLifetime used when no lifetime constraint is given (zero: none)
   * @param what names what refuses in the error, e.g. "PKCS#11 provider /usr/lib/x.so"
   */
  public static SupportedConstraints of(List<KeyConstraint> constraints, Duration defaultLifetime, String what,
      Clock clock) throws AgentException {
    Duration lifetime = defaultLifetime;
    boolean confirm = false;
    DestinationRestriction restriction = null;
    String skProvider = null;
    for (KeyConstraint c : constraints) {
      if (c instanceof KeyConstraint.Lifetime l) {
        lifetime = Duration.ofSeconds(l.seconds());
      } else if (c instanceof KeyConstraint.Confirm) {
        confirm = true;
      } else if (c instanceof KeyConstraint.RestrictDestination d && clock != null) {
        restriction = DestinationRestriction.of(d.constraints(), clock);
      } else if (c instanceof KeyConstraint.SkProvider p && clock != null) {
        skProvider = p.path(); // the keyring checks it against the allowlist, for security keys only
      } else {
        throw AgentException.failed(what + " refused the key: constraint " + describe(c)
            + " is not supported (only ssh-add -t and -c"
            + (clock != null ? " and -h" : "") + "); nothing added");
      }
    }
    return new SupportedConstraints(lifetime, confirm, restriction, skProvider);
  }

  static String describe(KeyConstraint c) {
    if (c instanceof KeyConstraint.RestrictDestination) {
      return "restrict-destination (ssh-add -h)";
    } else if (c instanceof KeyConstraint.AssociatedCerts) {
      return "associated-certs (only valid for PKCS#11 keys)";
    } else if (c instanceof KeyConstraint.SkProvider) {
      return "sk-provider (FIDO security keys)";
    } else if (c instanceof KeyConstraint.MaxSignatures) {
      return "maxsign (XMSS keys)";
    }
    return c.getClass().getSimpleName();
  }
}
