package dev.keymux.core.agent;

import java.util.Arrays;

/**
 * One verified session-bind@openssh.com record: the SSH server's host key, the session
 * identifier (exchange hash) it signed, whether the connection was bound for forwarding rather
 * than for authentication to that host, and the extension's exact bytes so an upstream agent
 * can be told the same binding.
 */
public record SessionBinding(KeyBlob hostKey, byte[] sessionId, boolean forwarding, byte[] message) {
  public SessionBinding {
    sessionId = sessionId.clone();
    message = message.clone();
  }

  @Override
  public byte[] message() {
    return message.clone();
  }

  @Override
  public byte[] sessionId() {
    return sessionId.clone();
  }

  public boolean sameSession(byte[] otherId) {
    return Arrays.equals(sessionId, otherId);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SessionBinding b && hostKey.equals(b.hostKey) && Arrays.equals(sessionId, b.sessionId)
        && forwarding == b.forwarding;
  }

  @Override
  public int hashCode() {
    return hostKey.hashCode() * 31 + Arrays.hashCode(sessionId);
  }

  @Override
  public String toString() {
    return "SessionBinding[" + hostKey + (forwarding ? ", forwarding" : ", auth") + "]";
  }
}
