package dev.keymux.core.agent;

import dev.keymux.core.wire.AgentRequest.AddIdentity;
import dev.keymux.core.wire.AgentRequest.AddSmartcardKey;
import dev.keymux.core.wire.AgentRequest.RemoveSmartcardKey;
import dev.keymux.core.wire.AgentResponse;
import java.util.List;

/**
 * The agent protocol's verbs as a Java interface. Keys stay opaque {@link KeyBlob}s; only an
 * implementation that signs parses them. Optional verbs refuse with
 * {@link AgentException.Kind#UNSUPPORTED} by default so routing can move on to another agent.
 * Lock/unlock are not here: they apply to keymux as a whole and are enforced before dispatch.
 */
public interface Agent {

  /** The identities this agent offers to {@code session}, in its preferred order. */
  List<Identity> list(Session session) throws AgentException;

  /**
   * Signs {@code data} with {@code key}; returns the SSH signature blob. {@code flags} are the
   * SSH_AGENT_RSA_SHA2_* bits of the request.
   */
  byte[] sign(Session session, KeyBlob key, byte[] data, int flags) throws AgentException;

  default void add(Session session, AddIdentity request) throws AgentException {
    throw AgentException.unsupported("adding keys");
  }

  default void remove(Session session, KeyBlob key) throws AgentException {
    throw AgentException.unsupported("removing keys");
  }

  default void removeAll(Session session) throws AgentException {
    throw AgentException.unsupported("removing all keys");
  }

  default void addSmartcard(Session session, AddSmartcardKey request) throws AgentException {
    throw AgentException.unsupported("PKCS#11 providers");
  }

  default void removeSmartcard(Session session, RemoveSmartcardKey request) throws AgentException {
    throw AgentException.unsupported("PKCS#11 providers");
  }

  /** Names of the extensions {@link #extension} answers, for the "query" extension. */
  default java.util.List<String> extensions() {
    return java.util.List.of();
  }

  /** An extension request other than those keymux answers itself (query, session-bind). */
  default AgentResponse extension(Session session, String name, byte[] contents) throws AgentException {
    throw AgentException.unsupported("extension " + name);
  }
}
