package dev.keymux.core.wire;

/**
 * A message that does not follow the agent protocol: truncated, a length that points past the
 * end, trailing bytes, an unknown message or constraint type. The server answers it with
 * SSH_AGENT_FAILURE; it never escapes a connection.
 */
public final class ProtocolException extends Exception {
  public ProtocolException(String message) {
    super(message);
  }
}
