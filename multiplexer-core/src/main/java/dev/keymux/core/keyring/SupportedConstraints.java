package dev.keymux.core.keyring;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.wire.KeyConstraint;
import java.time.Duration;
import java.util.List;

/**
 * The constraints keymux honours on added keys — a lifetime ({@code ssh-add -t}) and confirm on
 * use ({@code ssh-add -c}). Any other constraint refuses the whole add, as OpenSSH does: adding a
 * key without its restriction would make it wider than the user asked.
 */
public record SupportedConstraints(Duration lifetime, boolean confirm) {
  /**
   * @param defaultLifetime used when no lifetime constraint is given (zero: none)
   * @param what names what refuses in the error, e.g. "PKCS#11 provider /usr/lib/x.so"
   */
  public static SupportedConstraints of(List<KeyConstraint> constraints, Duration defaultLifetime, String what)
      throws AgentException {
    Duration lifetime = defaultLifetime;
    boolean confirm = false;
    for (KeyConstraint c : constraints) {
      if (c instanceof KeyConstraint.Lifetime l) {
        lifetime = Duration.ofSeconds(l.seconds());
      } else if (c instanceof KeyConstraint.Confirm) {
        confirm = true;
      } else {
        throw AgentException.failed(what + " refused the key: constraint " + describe(c)
            + " is not supported (only ssh-add -t and -c); nothing added");
      }
    }
    return new SupportedConstraints(lifetime, confirm);
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
