package dev.keymux.core.agent;

/**
 * A request that an agent or backend could not carry out. The server turns it into exactly one
 * reply: SSH_AGENT_EXTENSION_FAILURE for a failed supported extension, SSH_AGENT_FAILURE for
 * everything else. The message is for the log and never contains secrets or signed data.
 */
public class AgentException extends Exception {

  /** Why the request failed, as far as routing cares. */
  public enum Kind {
    /** This agent does not implement the operation at all; try another backend. */
    UNSUPPORTED,
    /** The operation was attempted and failed (refused, key unknown, token error, ...). */
    FAILED,
    /** A supported extension failed: reply SSH_AGENT_EXTENSION_FAILURE. */
    EXTENSION_FAILED,
    /**
     * The agent could not be talked to: no socket, connection refused (a stale socket), no
     * answer in time, or a broken or garbled stream. Says nothing about the request itself;
     * an upstream failing this way is down until it answers again.
     */
    UNREACHABLE
  }

  private final Kind kind;

  public AgentException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public AgentException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  public static AgentException unsupported(String what) {
    return new AgentException(Kind.UNSUPPORTED, what + " is not supported here");
  }

  public static AgentException failed(String message) {
    return new AgentException(Kind.FAILED, message);
  }

  public static AgentException failed(String message, Throwable cause) {
    return new AgentException(Kind.FAILED, message, cause);
  }

  public static AgentException unreachable(String message, Throwable cause) {
    return new AgentException(Kind.UNREACHABLE, message, cause);
  }
}
