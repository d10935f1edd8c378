package dev.keymux.core.wire;

/**
 * Numbers and limits of the SSH agent protocol (RFC 9987, formerly draft-miller-ssh-agent) and
 * OpenSSH's PROTOCOL.agent extensions. Grouped by the spec section that defines them.
 */
public final class AgentProtocol {
  private AgentProtocol() {}

  // RFC 9987 §6.1 — requests from client to agent.
  public static final int SSH_AGENTC_REQUEST_IDENTITIES = 11;
  public static final int SSH_AGENTC_SIGN_REQUEST = 13;
  public static final int SSH_AGENTC_ADD_IDENTITY = 17;
  public static final int SSH_AGENTC_REMOVE_IDENTITY = 18;
  public static final int SSH_AGENTC_REMOVE_ALL_IDENTITIES = 19;
  public static final int SSH_AGENTC_ADD_SMARTCARD_KEY = 20;
  public static final int SSH_AGENTC_REMOVE_SMARTCARD_KEY = 21;
  public static final int SSH_AGENTC_LOCK = 22;
  public static final int SSH_AGENTC_UNLOCK = 23;
  public static final int SSH_AGENTC_ADD_ID_CONSTRAINED = 25;
  public static final int SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED = 26;
  public static final int SSH_AGENTC_EXTENSION = 27;

  // RFC 9987 §6.1 — replies from agent to client.
  public static final int SSH_AGENT_FAILURE = 5;
  public static final int SSH_AGENT_SUCCESS = 6;
  public static final int SSH_AGENT_IDENTITIES_ANSWER = 12;
  public static final int SSH_AGENT_SIGN_RESPONSE = 14;
  public static final int SSH_AGENT_EXTENSION_FAILURE = 28;
  public static final int SSH_AGENT_EXTENSION_RESPONSE = 29;

  // RFC 9987 §6.2 — key constraints.
  public static final int SSH_AGENT_CONSTRAIN_LIFETIME = 1;
  public static final int SSH_AGENT_CONSTRAIN_CONFIRM = 2;
  /** OpenSSH PROTOCOL.agent §3: XMSS signature budget; parsed, never honoured (no XMSS keys). */
  public static final int SSH_AGENT_CONSTRAIN_MAXSIGN = 3;
  public static final int SSH_AGENT_CONSTRAIN_EXTENSION = 255;

  // RFC 9987 §6.3 — signature flags.
  /** Legacy SSH v1-era flag; never valid today. */
  public static final int SSH_AGENT_OLD_SIGNATURE = 0x01;
  public static final int SSH_AGENT_RSA_SHA2_256 = 0x02;
  public static final int SSH_AGENT_RSA_SHA2_512 = 0x04;

  // Extension names (RFC 9987 §3.8 and OpenSSH PROTOCOL.agent).
  public static final String EXT_QUERY = "query";
  public static final String EXT_SESSION_BIND = "session-bind@openssh.com";
  /** keymux's own: the identity list with the backend holding each key (`keymux list`). */
  public static final String EXT_KEYMUX_LIST = "list@keymux.dev";
  /**
   * keymux's own loop check: contents = the instance ids already on the path (uint32 n, n strings);
   * reply = one boolean, true when the path leads back to one of them.
   */
  public static final String EXT_KEYMUX_CHAIN = "chain@keymux.dev";
  public static final String CONSTRAINT_RESTRICT_DESTINATION = "restrict-destination-v00@openssh.com";
  public static final String CONSTRAINT_ASSOCIATED_CERTS = "associated-certs-v00@openssh.com";
  public static final String CONSTRAINT_SK_PROVIDER = "sk-provider@openssh.com";

  // Limits, as OpenSSH ssh-agent.c enforces them.
  /** Largest frame accepted or sent (AGENT_MAX_LEN); bigger frames close the connection. */
  public static final int MAX_MESSAGE_LENGTH = 256 * 1024;
  /** Most identities put in one IDENTITIES_ANSWER (the client refuses more, MAX_AGENT_IDENTITIES). */
  public static final int MAX_IDENTITIES = 2048;
  /** Session bindings one connection may record (AGENT_MAX_SESSION_IDS). */
  public static final int MAX_SESSION_BINDINGS = 16;
  /** Longest session id a session-bind may carry (AGENT_MAX_SID_LEN; SHA-512 exchange hashes are 64). */
  public static final int MAX_SESSION_ID_LENGTH = 128;
  /** Constraints one add request may carry (AGENT_MAX_EXT_CERTS / constraint loop bound). */
  public static final int MAX_CONSTRAINTS = 1024;
  /** Hops in one restrict-destination constraint set (AGENT_MAX_DEST_CONSTRAINTS). */
  public static final int MAX_DESTINATION_CONSTRAINTS = 1024;
  /** Host keys in one hop of a destination constraint. */
  public static final int MAX_HOP_KEYS = 1024;
}
