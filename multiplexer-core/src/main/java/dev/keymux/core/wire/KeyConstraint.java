package dev.keymux.core.wire;

import dev.keymux.core.agent.KeyBlob;
import java.util.List;

/**
 * A constraint attached to an added key (RFC 9987 §3.2.7, OpenSSH PROTOCOL.agent). A backend
 * that cannot honour a constraint must refuse the key rather than add it unconstrained.
 */
public sealed interface KeyConstraint {

  /** SSH_AGENT_CONSTRAIN_LIFETIME: the key is deleted after this many seconds. */
  record Lifetime(long seconds) implements KeyConstraint {}

  /** SSH_AGENT_CONSTRAIN_CONFIRM: every use of the key must be confirmed by the user. */
  record Confirm() implements KeyConstraint {}

  /** SSH_AGENT_CONSTRAIN_MAXSIGN: XMSS signature budget. */
  record MaxSignatures(long count) implements KeyConstraint {}

  /** restrict-destination-v00@openssh.com: where the key may be used ({@code ssh-add -h}). */
  record RestrictDestination(List<DestinationConstraint> constraints) implements KeyConstraint {
    public RestrictDestination {
      constraints = List.copyOf(constraints);
    }
  }

  /** associated-certs-v00@openssh.com: certificates to load alongside PKCS#11 keys ({@code ssh-add -C}). */
  record AssociatedCerts(boolean certsOnly, List<KeyBlob> certs) implements KeyConstraint {
    public AssociatedCerts {
      certs = List.copyOf(certs);
    }
  }

  /** sk-provider@openssh.com: the FIDO middleware library for a security-key key. */
  record SkProvider(String path) implements KeyConstraint {}

  /** One from→to hop of a destination restriction. */
  record DestinationConstraint(Hop from, Hop to) {}

  /** One end of a hop: user (may be empty), host name and the host keys that identify it. */
  record Hop(String user, String hostname, List<HostKey> hostKeys) {
    public Hop {
      hostKeys = List.copyOf(hostKeys);
    }
  }

  /** A host key or, when {@code certificateAuthority}, a CA key for host certificates. */
  record HostKey(KeyBlob key, boolean certificateAuthority) {}
}
