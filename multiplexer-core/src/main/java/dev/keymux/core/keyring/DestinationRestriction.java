package dev.keymux.core.keyring;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.agent.SessionBinding;
import dev.keymux.core.keys.CertificateInfo;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.keys.KeyFormatException;
import dev.keymux.core.policy.Glob;
import dev.keymux.core.wire.KeyConstraint.DestinationConstraint;
import dev.keymux.core.wire.KeyConstraint.Hop;
import dev.keymux.core.wire.KeyConstraint.HostKey;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a key added with {@code ssh-add -h} may be used (restrict-destination-v00@openssh.com,
 * OpenSSH PROTOCOL.agent §2), judged against a connection's session-bind chain exactly as
 * OpenSSH's ssh-agent does: every recorded hop (origin → first host, then host → host for each
 * forwarding) must be allowed by one of the key's from→to constraints; a connection whose
 * session-bind failed sees no restricted key; a local connection (nothing bound) may use it.
 *
 * <p>At list time a key is shown only if the chain so far is allowed and — when the last hop is a
 * forwarding — some constraint lets it go on from there. At sign time the signed data must be a
 * user-auth request for the connection's last bound session, naming an allowed user and (past
 * the first hop) the last bound host key.
 */
public final class DestinationRestriction {
  private static final Logger log = LoggerFactory.getLogger(DestinationRestriction.class);

  /** The longest user pattern a hop may carry (OpenSSH's AGENT_USER_CONSTRAINT_MAX_LEN). */
  static final int MAX_USER_PATTERN_LENGTH = 256;

  /** SSH_MSG_USERAUTH_REQUEST (RFC 4252 §5). */
  private static final int SSH_MSG_USERAUTH_REQUEST = 50;
  private static final String HOSTBOUND_METHOD = "publickey-hostbound-v00@openssh.com";

  private final List<DestinationConstraint> constraints;
  private final Clock clock;

  private DestinationRestriction(List<DestinationConstraint> constraints, Clock clock) {
    this.constraints = List.copyOf(constraints);
    this.clock = clock;
  }

  /**
   * Checks the constraints as OpenSSH's parse_dest_constraint does — an origin hop has neither
   * host name nor keys, a "from" hop names no user, every "to" hop has a host name and keys — and
   * refuses the whole key otherwise.
   */
  public static DestinationRestriction of(List<DestinationConstraint> constraints, Clock clock) throws AgentException {
    if (constraints.isEmpty()) {
      throw AgentException.failed("restrict-destination with no hops; nothing added");
    }
    for (DestinationConstraint c : constraints) {
      Hop from = c.from();
      Hop to = c.to();
      if (from.hostname().isEmpty() != from.hostKeys().isEmpty() || !from.user().isEmpty()) {
        throw AgentException.failed("restrict-destination: inconsistent \"from\" hop " + describe(from) + "; nothing added");
      }
      if (to.hostname().isEmpty() || to.hostKeys().isEmpty()) {
        throw AgentException.failed("restrict-destination: \"to\" hop " + describe(to)
            + " has no host keys (is the host in known_hosts?); nothing added");
      }
      if (to.user().length() > MAX_USER_PATTERN_LENGTH) {
        throw AgentException.failed("restrict-destination: user pattern longer than " + MAX_USER_PATTERN_LENGTH);
      }
    }
    return new DestinationRestriction(constraints, clock);
  }

  public List<DestinationConstraint> constraints() {
    return constraints;
  }

  /** May this connection see the key (list)? */
  public boolean visibleTo(Session session) {
    return permitted(session, null, session.bindings());
  }

  /**
   * Refuses a signature unless {@code data} is a user-auth request that this connection's chain
   * and the key's constraints allow (OpenSSH's process_sign_request2 for constrained keys).
   *
   * @return what the signature is for, for the confirm prompt ("user bob on the listed host")
   */
  public String authorizeSignature(Session session, KeyBlob key, byte[] data) throws AgentException {
    List<SessionBinding> chain = session.bindings();
    if (chain.isEmpty()) {
      throw AgentException.failed("refusing a destination-restricted key on a connection not bound to a host"
          + " (ssh-add -h keys sign only ssh logins)");
    }
    UserAuthRequest request = UserAuthRequest.parse(data, key);
    if (request == null) {
      throw AgentException.failed("refusing a destination-restricted key to sign data that is not an ssh login");
    }
    if (!permitted(session, request.user(), chain)) {
      throw AgentException.failed("destination-restricted key " + Fingerprints.sha256(key.bytes())
          + " is not permitted for user " + request.user() + " on this path");
    }
    SessionBinding last = chain.get(chain.size() - 1);
    if (!MessageDigest.isEqual(request.sessionId(), last.sessionId())) {
      throw AgentException.failed("refusing a destination-restricted key: the login is not for the session"
          + " most recently bound to this connection");
    }
    if (chain.size() > 1 && request.hostKey() == null) {
      throw AgentException.failed("refusing a destination-restricted key: a forwarded login must name its host key"
          + " (publickey-hostbound)");
    }
    if (request.hostKey() != null && !request.hostKey().equals(last.hostKey())) {
      throw AgentException.failed("refusing a destination-restricted key: the login's host key is not the one"
          + " bound to this connection");
    }
    return "login of user \"" + request.user() + "\" to a listed host";
  }

  /** OpenSSH's identity_permitted: walk the bound hops, each must match a constraint. */
  private boolean permitted(Session session, String user, List<SessionBinding> chain) {
    if (chain.isEmpty()) {
      if (session.bindAttempted()) {
        log.warn("{}: a session-bind failed on this connection; destination-restricted keys are hidden", session);
        return false;
      }
      return true; // local use
    }
    KeyBlob from = null;
    for (int i = 0; i < chain.size(); i++) {
      SessionBinding hop = chain.get(i);
      String testUser = null;
      if (i == chain.size() - 1) {
        testUser = user; // the user can only be checked at the final hop
        if (hop.forwarding() && user != null) {
          log.warn("{}: refused: asked to sign on a hop bound for forwarding", session);
          return false;
        }
      } else if (!hop.forwarding()) {
        log.warn("{}: refused: forwarding through a connection bound for authentication", session);
        return false;
      }
      if (!allowedHop(from, hop.hostKey(), testUser)) {
        return false;
      }
      from = hop.hostKey();
    }
    // Past a forwarding hop, show only keys that may be used beyond it: a key that may log in
    // *to* this host but not onwards is of no use to the host's clients.
    SessionBinding last = chain.get(chain.size() - 1);
    return !(last.forwarding() && user == null && !allowedHop(last.hostKey(), null, null));
  }

  /** OpenSSH's permitted_by_dest_constraints. {@code from} null = the origin; {@code to} null = any. */
  private boolean allowedHop(KeyBlob from, KeyBlob to, String user) {
    for (DestinationConstraint c : constraints) {
      if (from == null) {
        if (!c.from().hostname().isEmpty() || !c.from().hostKeys().isEmpty()) {
          continue;
        }
      } else if (!matches(from, c.from())) {
        continue;
      }
      if (to != null && !matches(to, c.to())) {
        continue;
      }
      if (!c.to().user().isEmpty() && user != null && !wildcardMatch(user, c.to().user())) {
        continue;
      }
      return true;
    }
    return false;
  }

  /** OpenSSH's match_key_hop: a plain key listed as such, or a host certificate by a listed CA. */
  private boolean matches(KeyBlob key, Hop hop) {
    boolean certificate = key.type().endsWith("-cert-v01@openssh.com");
    for (HostKey k : hop.hostKeys()) {
      if (!certificate) {
        if (!k.certificateAuthority() && k.key().equals(key)) {
          return true;
        }
        continue;
      }
      if (!k.certificateAuthority()) {
        continue;
      }
      try {
        if (!new KeyBlob(CertificateInfo.verifiedSigner(key.bytes())).equals(k.key())) {
          continue;
        }
        String why = CertificateInfo.parse(key.bytes()).hostMismatch(hop.hostname(), clock.instant().getEpochSecond());
        if (why != null) {
          log.debug("host certificate refused for {}: {}", hop.hostname(), why);
          continue;
        }
        return true;
      } catch (KeyFormatException e) {
        log.debug("host certificate refused for {}: {}", hop.hostname(), e.getMessage());
      }
    }
    return false;
  }

  /** OpenSSH's match_pattern: {@code *} any run, {@code ?} one character, nothing else special. */
  static boolean wildcardMatch(String s, String pattern) {
    return Glob.matches(pattern, s, false);
  }

  /** The hops as {@code ssh-add -h} takes them: "host_a", "host_a>user@host_b". */
  public String describe() {
    return constraints.stream()
        .map(c -> (c.from().hostname().isEmpty() ? "" : c.from().hostname() + ">") + describe(c.to()))
        .collect(Collectors.joining(", "));
  }

  private static String describe(Hop hop) {
    String host = hop.hostname().isEmpty() ? "(origin)" : hop.hostname();
    return (hop.user().isEmpty() ? "" : hop.user() + "@") + host;
  }

  @Override
  public String toString() {
    return "restricted to " + describe();
  }

  /** The fields of a signed user-auth request that the restriction checks. */
  private record UserAuthRequest(byte[] sessionId, String user, KeyBlob hostKey) {
    /**
     * OpenSSH's parse_userauth_request: session id, SSH_MSG_USERAUTH_REQUEST, user,
     * "ssh-connection", publickey or publickey-hostbound (then the server's host key), TRUE, the
     * algorithm of the signing key's type, the signing key itself; nothing after. Null if not one.
     */
    static UserAuthRequest parse(byte[] data, KeyBlob key) {
      try {
        SshReader r = new SshReader(data);
        byte[] sessionId = r.readString();
        if (sessionId.length == 0 || r.readByte() != SSH_MSG_USERAUTH_REQUEST) {
          return null;
        }
        String user = r.readUtf8();
        String service = r.readUtf8();
        String method = r.readUtf8();
        boolean signatureFollows = r.readBoolean();
        String algorithm = r.readUtf8();
        KeyBlob signingKey = new KeyBlob(r.readString());
        if (!service.equals("ssh-connection") || !signatureFollows || !signingKey.equals(key)
            || !keyTypeOf(algorithm).equals(key.type())) {
          return null;
        }
        KeyBlob hostKey = null;
        if (method.equals(HOSTBOUND_METHOD)) {
          hostKey = new KeyBlob(r.readString());
        } else if (!method.equals("publickey")) {
          return null;
        }
        if (r.hasRemaining()) {
          return null;
        }
        return new UserAuthRequest(sessionId, user, hostKey);
      } catch (ProtocolException e) {
        return null;
      }
    }

    /** The key type a public-key algorithm name signs with (rsa-sha2-256 → ssh-rsa). */
    private static String keyTypeOf(String algorithm) {
      return switch (algorithm) {
        case "rsa-sha2-256", "rsa-sha2-512" -> "ssh-rsa";
        case "rsa-sha2-256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com" -> "ssh-rsa-cert-v01@openssh.com";
        case "webauthn-sk-ecdsa-sha2-nistp256@openssh.com" -> "sk-ecdsa-sha2-nistp256@openssh.com";
        default -> algorithm;
      };
    }
  }
}
