package dev.keymux.core.wire;

import dev.keymux.core.agent.Identity;
import java.util.Arrays;
import java.util.List;

/** Messages from agent to client (RFC 9987 §3), one record per message type. */
public sealed interface AgentResponse {

  /** SSH_AGENT_FAILURE (5). */
  record Failure() implements AgentResponse {}

  /** SSH_AGENT_SUCCESS (6). */
  record Success() implements AgentResponse {}

  /** SSH_AGENT_IDENTITIES_ANSWER (12). */
  record IdentitiesAnswer(List<Identity> identities) implements AgentResponse {
    public IdentitiesAnswer {
      identities = List.copyOf(identities);
    }
  }

  /** SSH_AGENT_SIGN_RESPONSE (14): the signature blob. */
  record SignResponse(byte[] signature) implements AgentResponse {
    @Override
    public boolean equals(Object o) {
      return o instanceof SignResponse s && Arrays.equals(signature, s.signature);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(signature);
    }

    @Override
    public String toString() {
      return "SignResponse[" + signature.length + " bytes]";
    }
  }

  /** SSH_AGENT_EXTENSION_FAILURE (28): a supported extension failed. */
  record ExtensionFailure() implements AgentResponse {}

  /** SSH_AGENT_EXTENSION_RESPONSE (29): the extension's name and its reply contents. */
  record ExtensionResponse(String name, byte[] contents) implements AgentResponse {
    @Override
    public boolean equals(Object o) {
      return o instanceof ExtensionResponse e && name.equals(e.name) && Arrays.equals(contents, e.contents);
    }

    @Override
    public int hashCode() {
      return name.hashCode();
    }

    @Override
    public String toString() {
      return "ExtensionResponse[" + name + ", " + contents.length + " bytes]";
    }
  }

  AgentResponse FAILURE = new Failure();
  AgentResponse SUCCESS = new Success();
  AgentResponse EXTENSION_FAILURE = new ExtensionFailure();
}
