package dev.keymux.core.server;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.agent.SessionBinding;
import dev.keymux.core.keys.CertificateInfo;
import dev.keymux.core.keys.KeyFormatException;
import dev.keymux.core.keys.SshSignatures;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Handles session-bind@openssh.com (OpenSSH PROTOCOL.agent §1) with the rules of OpenSSH's
 * ssh-agent: the host key's signature over the session id must verify; a connection already
 * bound for authentication accepts no further binding; the same id with the same key is a
 * no-op, with another key an error; at most {@link AgentProtocol#MAX_SESSION_BINDINGS}.
 */
final class SessionBinder {
  private static final Logger log = LoggerFactory.getLogger(SessionBinder.class);

  private SessionBinder() {}

  static void bind(Session session, byte[] contents) throws AgentException {
    session.markBindAttempted(); // even a refused binding marks the connection as remote
    KeyBlob hostKey;
    byte[] sessionId;
    byte[] signature;
    boolean forwarding;
    try {
      SshReader r = new SshReader(contents);
      hostKey = new KeyBlob(r.readString());
      sessionId = r.readString();
      signature = r.readString();
      forwarding = r.readBoolean();
      r.expectEnd("session-bind");
    } catch (ProtocolException e) {
      throw AgentException.failed("malformed session-bind: " + e.getMessage());
    }
    if (sessionId.length > AgentProtocol.MAX_SESSION_ID_LENGTH) {
      throw AgentException.failed("session-bind with a session id of " + sessionId.length + " bytes (limit "
          + AgentProtocol.MAX_SESSION_ID_LENGTH + ")");
    }
    byte[] signingKey = hostKey.bytes();
    if (hostKey.type().endsWith("-cert-v01@openssh.com")) {
      // A server with a host certificate binds the certificate (ssh's KEX host key): the
      // session id is signed by the certified key, and the certificate itself must be the CA's.
      try {
        CertificateInfo.verifiedSigner(hostKey.bytes());
        signingKey = SshSignatures.publicBlobOf(hostKey.bytes());
      } catch (KeyFormatException e) {
        throw AgentException.failed("session-bind with a bad host certificate: " + e.getMessage());
      }
    }
    if (!SshSignatures.verify(signingKey, signature, sessionId)) {
      throw AgentException.failed("session-bind signature does not verify for host key " + hostKey.type());
    }
    synchronized (session) {
      for (SessionBinding b : session.bindings()) {
        if (!b.forwarding()) {
          throw AgentException.failed("connection already bound for authentication; refusing another binding");
        }
        if (b.sameSession(sessionId)) {
          if (b.hostKey().equals(hostKey)) {
            return; // the same binding again: accepted, nothing new to record
          }
          throw AgentException.failed("session id already bound to a different host key");
        }
      }
      if (session.bindings().size() >= AgentProtocol.MAX_SESSION_BINDINGS) {
        throw AgentException.failed("too many session bindings on one connection");
      }
      session.addBinding(new SessionBinding(hostKey, sessionId, forwarding, contents));
    }
    log.debug("{}: bound to host key {} {} for {}", session, hostKey.type(),
        dev.keymux.core.keys.Fingerprints.sha256(hostKey.bytes()), forwarding ? "forwarding" : "authentication");
  }
}
