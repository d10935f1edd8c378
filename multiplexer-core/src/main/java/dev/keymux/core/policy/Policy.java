package dev.keymux.core.policy;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.Session;
import java.util.List;
import java.util.Set;

/**
 * Decides, per client connection, which keys are offered, in which order, which backend signs
 * with a key several backends hold, and whether a signature may be made at all. The multiplexer
 * asks; the rules themselves live in the {@code config} module.
 */
public interface Policy {
  /** The policy of an agent without rules: every key offered in backend order, every signature allowed. */
  Policy ALLOW_ALL = session -> View.ALLOW_ALL;

  /** The policy as it applies to one connection (its socket, its peer, its destination right now). */
  View view(Session session);

  /** One connection's view. Implementations are cheap to obtain and safe to call from any thread. */
  interface View {
    View ALLOW_ALL = new View() {
      @Override
      public List<Identity> offer(List<KeyHolding> keys) {
        return keys.stream().map(k -> k.holders().get(0)).toList();
      }

      @Override
      public SignDecision authorize(KeyHolding key) {
        return SignDecision.allow(key.holders().stream().map(Identity::backend).toList());
      }
    };

    /**
     * Backends this connection may reach, or {@code null} for all of them. Backends outside it
     * are not even asked.
     */
    default Set<String> backends() {
      return null;
    }

    /** Whether this connection may add, remove, lock and load providers (scoped sockets may not). */
    default boolean mayManage() {
      return true;
    }

    /**
     * The identities to offer, in offer order: for each visible key the identity of the backend
     * that would sign with it.
     */
    List<Identity> offer(List<KeyHolding> keys);

    /**
     * Whether {@code key} may sign for this connection now, asking the user first when a rule says
     * so. Throws when the signature is refused.
     */
    SignDecision authorize(KeyHolding key) throws AgentException;
  }

  /**
   * A key and every backend holding it, in configured backend order (never empty).
   */
  record KeyHolding(List<Identity> holders) {
    public KeyHolding {
      if (holders.isEmpty()) {
        throw new IllegalArgumentException("a key holding needs at least one holder");
      }
      holders = List.copyOf(holders);
    }

    public dev.keymux.core.agent.KeyBlob key() {
      return holders.get(0).key();
    }
  }

  /**
   * A signature the policy allowed: the backends to try, preferred first, and a hook told the
   * outcome (for the audit log).
   */
  interface SignDecision {
    List<String> backends();

    /** Told once per request: the backend that signed, or null with the reason it failed. */
    default void completed(String backend, String failure) {}

    static SignDecision allow(List<String> backends) {
      List<String> order = List.copyOf(backends);
      return () -> order;
    }
  }
}
