package dev.keymux.core.wire;

import static dev.keymux.core.wire.AgentProtocol.*;

import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.wire.AgentRequest.*;
import dev.keymux.core.wire.AgentResponse.*;
import dev.keymux.core.wire.KeyConstraint.*;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Encodes and decodes message bodies (the bytes after the uint32 frame length). Decoding is
 * total: it either yields one fully-read message or throws {@link ProtocolException}; trailing
 * bytes are an error. Both directions exist so the same codec serves the server and the
 * upstream client.
 */
public final class AgentCodec {
  private AgentCodec() {}

  // ---------------------------------------------------------------- requests

  public static AgentRequest decodeRequest(byte[] body) throws ProtocolException {
    if (body.length == 0) {
      throw new ProtocolException("empty message");
    }
    SshReader r = new SshReader(body);
    int type = r.readByte();
    AgentRequest request = switch (type) {
      case SSH_AGENTC_REQUEST_IDENTITIES -> new RequestIdentities();
      case SSH_AGENTC_SIGN_REQUEST -> new SignRequest(new KeyBlob(r.readString()), r.readString(), (int) r.readUint32());
      case SSH_AGENTC_ADD_IDENTITY, SSH_AGENTC_ADD_ID_CONSTRAINED -> decodeAdd(r, type == SSH_AGENTC_ADD_ID_CONSTRAINED);
      case SSH_AGENTC_REMOVE_IDENTITY -> new RemoveIdentity(new KeyBlob(r.readString()));
      case SSH_AGENTC_REMOVE_ALL_IDENTITIES -> new RemoveAllIdentities();
      case SSH_AGENTC_ADD_SMARTCARD_KEY, SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED -> {
        String provider = r.readUtf8();
        byte[] pin = r.readString();
        List<KeyConstraint> constraints =
            type == SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED ? decodeConstraints(r) : List.of();
        yield new AddSmartcardKey(provider, pin, constraints);
      }
      case SSH_AGENTC_REMOVE_SMARTCARD_KEY -> new RemoveSmartcardKey(r.readUtf8(), r.readString());
      case SSH_AGENTC_LOCK -> new Lock(r.readString());
      case SSH_AGENTC_UNLOCK -> new Unlock(r.readString());
      case SSH_AGENTC_EXTENSION -> new Extension(r.readUtf8(), r.readRest());
      default -> throw new ProtocolException("unknown request type " + type);
    };
    r.expectEnd("request " + type);
    return request;
  }

  private static AddIdentity decodeAdd(SshReader r, boolean constrained) throws ProtocolException {
    int start = r.position();
    String keyType = r.readUtf8();
    PrivateKeyLayout.skipPrivateFields(keyType, r);
    byte[] material = java.util.Arrays.copyOfRange(r.buffer(), start, r.position());
    String comment = r.readUtf8();
    List<KeyConstraint> constraints = constrained ? decodeConstraints(r) : List.of();
    return new AddIdentity(keyType, material, comment, constraints);
  }

  /** Reads constraints until the end of the message; a repeated constraint is an error. */
  static List<KeyConstraint> decodeConstraints(SshReader r) throws ProtocolException {
    List<KeyConstraint> out = new ArrayList<>();
    Set<Object> seen = new HashSet<>();
    while (r.hasRemaining()) {
      if (out.size() >= MAX_CONSTRAINTS) {
        throw new ProtocolException("more than " + MAX_CONSTRAINTS + " constraints");
      }
      int kind = r.readByte();
      KeyConstraint c = switch (kind) {
        case SSH_AGENT_CONSTRAIN_LIFETIME -> new Lifetime(r.readUint32());
        case SSH_AGENT_CONSTRAIN_CONFIRM -> new Confirm();
        case SSH_AGENT_CONSTRAIN_MAXSIGN -> new MaxSignatures(r.readUint32());
        case SSH_AGENT_CONSTRAIN_EXTENSION -> decodeExtensionConstraint(r);
        default -> throw new ProtocolException("unknown constraint type " + kind);
      };
      if (!seen.add(c.getClass())) {
        throw new ProtocolException("constraint given twice: " + c.getClass().getSimpleName());
      }
      out.add(c);
    }
    return out;
  }

  private static KeyConstraint decodeExtensionConstraint(SshReader r) throws ProtocolException {
    String name = r.readUtf8();
    switch (name) {
      case CONSTRAINT_RESTRICT_DESTINATION: {
        SshReader all = new SshReader(r.readString());
        List<DestinationConstraint> list = new ArrayList<>();
        while (all.hasRemaining()) {
          if (list.size() >= MAX_DESTINATION_CONSTRAINTS) {
            throw new ProtocolException("more than " + MAX_DESTINATION_CONSTRAINTS + " destination constraints");
          }
          SshReader one = new SshReader(all.readString());
          Hop from = decodeHop(new SshReader(one.readString()));
          Hop to = decodeHop(new SshReader(one.readString()));
          one.readString(); // reserved
          one.expectEnd("destination constraint");
          list.add(new DestinationConstraint(from, to));
        }
        return new RestrictDestination(list);
      }
      case CONSTRAINT_ASSOCIATED_CERTS: {
        boolean certsOnly = r.readBoolean();
        SshReader certs = new SshReader(r.readString());
        List<KeyBlob> list = new ArrayList<>();
        while (certs.hasRemaining()) {
          if (list.size() >= MAX_HOP_KEYS) {
            throw new ProtocolException("too many associated certificates");
          }
          list.add(new KeyBlob(certs.readString()));
        }
        return new AssociatedCerts(certsOnly, list);
      }
      case CONSTRAINT_SK_PROVIDER:
        return new SkProvider(r.readUtf8());
      default:
        // The length of an unknown extension constraint is unknowable, so the whole request fails.
        throw new ProtocolException("unsupported constraint extension " + name);
    }
  }

  private static Hop decodeHop(SshReader h) throws ProtocolException {
    String user = h.readUtf8();
    String host = h.readUtf8();
    h.readString(); // reserved
    List<HostKey> keys = new ArrayList<>();
    while (h.hasRemaining()) {
      if (keys.size() >= MAX_HOP_KEYS) {
        throw new ProtocolException("too many host keys in one hop");
      }
      keys.add(new HostKey(new KeyBlob(h.readString()), h.readBoolean()));
    }
    return new Hop(user, host, keys);
  }

  public static byte[] encodeRequest(AgentRequest request) {
    // Java 17 has no pattern switch; the sealed hierarchy keeps this chain exhaustive by review.
    SshWriter w = new SshWriter();
    if (request instanceof RequestIdentities) {
      w.writeByte(SSH_AGENTC_REQUEST_IDENTITIES);
    } else if (request instanceof SignRequest s) {
      w.writeByte(SSH_AGENTC_SIGN_REQUEST).writeString(s.key().bytes()).writeString(s.data())
          .writeUint32(s.flags() & 0xffffffffL);
    } else if (request instanceof AddIdentity a) {
      w.writeByte(a.constraints().isEmpty() ? SSH_AGENTC_ADD_IDENTITY : SSH_AGENTC_ADD_ID_CONSTRAINED)
          .writeRaw(a.keyMaterial()).writeString(a.comment());
      encodeConstraints(w, a.constraints());
    } else if (request instanceof RemoveIdentity x) {
      w.writeByte(SSH_AGENTC_REMOVE_IDENTITY).writeString(x.key().bytes());
    } else if (request instanceof RemoveAllIdentities) {
      w.writeByte(SSH_AGENTC_REMOVE_ALL_IDENTITIES);
    } else if (request instanceof AddSmartcardKey a) {
      w.writeByte(a.constraints().isEmpty() ? SSH_AGENTC_ADD_SMARTCARD_KEY : SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED)
          .writeString(a.provider()).writeString(a.pin());
      encodeConstraints(w, a.constraints());
    } else if (request instanceof RemoveSmartcardKey x) {
      w.writeByte(SSH_AGENTC_REMOVE_SMARTCARD_KEY).writeString(x.provider()).writeString(x.pin());
    } else if (request instanceof Lock x) {
      w.writeByte(SSH_AGENTC_LOCK).writeString(x.passphrase());
    } else if (request instanceof Unlock x) {
      w.writeByte(SSH_AGENTC_UNLOCK).writeString(x.passphrase());
    } else if (request instanceof Extension x) {
      w.writeByte(SSH_AGENTC_EXTENSION).writeString(x.name()).writeRaw(x.contents());
    } else {
      throw new IllegalArgumentException("unknown request " + request);
    }
    return w.toByteArray();
  }

  static void encodeConstraints(SshWriter w, List<KeyConstraint> constraints) {
    for (KeyConstraint c : constraints) {
      if (c instanceof Lifetime l) {
        w.writeByte(SSH_AGENT_CONSTRAIN_LIFETIME).writeUint32(l.seconds());
      } else if (c instanceof Confirm) {
        w.writeByte(SSH_AGENT_CONSTRAIN_CONFIRM);
      } else if (c instanceof MaxSignatures m) {
        w.writeByte(SSH_AGENT_CONSTRAIN_MAXSIGN).writeUint32(m.count());
      } else if (c instanceof RestrictDestination d) {
        SshWriter all = new SshWriter();
        for (DestinationConstraint dc : d.constraints()) {
          SshWriter one = new SshWriter();
          one.writeString(encodeHop(dc.from())).writeString(encodeHop(dc.to())).writeString(new byte[0]);
          all.writeString(one.toByteArray());
        }
        w.writeByte(SSH_AGENT_CONSTRAIN_EXTENSION).writeString(CONSTRAINT_RESTRICT_DESTINATION)
            .writeString(all.toByteArray());
      } else if (c instanceof AssociatedCerts a) {
        SshWriter certs = new SshWriter();
        a.certs().forEach(k -> certs.writeString(k.bytes()));
        w.writeByte(SSH_AGENT_CONSTRAIN_EXTENSION).writeString(CONSTRAINT_ASSOCIATED_CERTS)
            .writeBoolean(a.certsOnly()).writeString(certs.toByteArray());
      } else if (c instanceof SkProvider s) {
        w.writeByte(SSH_AGENT_CONSTRAIN_EXTENSION).writeString(CONSTRAINT_SK_PROVIDER).writeString(s.path());
      } else {
        throw new IllegalArgumentException("unknown constraint " + c);
      }
    }
  }

  private static byte[] encodeHop(Hop hop) {
    SshWriter h = new SshWriter();
    h.writeString(hop.user()).writeString(hop.hostname()).writeString(new byte[0]);
    for (HostKey k : hop.hostKeys()) {
      h.writeString(k.key().bytes()).writeBoolean(k.certificateAuthority());
    }
    return h.toByteArray();
  }

  // ---------------------------------------------------------------- responses

  public static AgentResponse decodeResponse(byte[] body) throws ProtocolException {
    if (body.length == 0) {
      throw new ProtocolException("empty message");
    }
    SshReader r = new SshReader(body);
    int type = r.readByte();
    AgentResponse response = switch (type) {
      case SSH_AGENT_FAILURE -> AgentResponse.FAILURE;
      case SSH_AGENT_SUCCESS -> AgentResponse.SUCCESS;
      case SSH_AGENT_IDENTITIES_ANSWER -> {
        long n = r.readUint32();
        if (n > MAX_IDENTITIES) {
          throw new ProtocolException("identity answer with " + n + " keys (limit " + MAX_IDENTITIES + ")");
        }
        List<Identity> ids = new ArrayList<>((int) n);
        for (int i = 0; i < n; i++) {
          ids.add(new Identity(new KeyBlob(r.readString()), r.readUtf8(), ""));
        }
        yield new IdentitiesAnswer(ids);
      }
      case SSH_AGENT_SIGN_RESPONSE -> new SignResponse(r.readString());
      case SSH_AGENT_EXTENSION_FAILURE -> AgentResponse.EXTENSION_FAILURE;
      case SSH_AGENT_EXTENSION_RESPONSE -> new ExtensionResponse(r.readUtf8(), r.readRest());
      default -> throw new ProtocolException("unknown response type " + type);
    };
    r.expectEnd("response " + type);
    return response;
  }

  public static byte[] encodeResponse(AgentResponse response) {
    SshWriter w = new SshWriter();
    if (response instanceof Failure) {
      w.writeByte(SSH_AGENT_FAILURE);
    } else if (response instanceof Success) {
      w.writeByte(SSH_AGENT_SUCCESS);
    } else if (response instanceof IdentitiesAnswer a) {
      w.writeByte(SSH_AGENT_IDENTITIES_ANSWER).writeUint32(a.identities().size());
      for (Identity id : a.identities()) {
        w.writeString(id.key().bytes()).writeString(id.comment());
      }
    } else if (response instanceof SignResponse s) {
      w.writeByte(SSH_AGENT_SIGN_RESPONSE).writeString(s.signature());
    } else if (response instanceof ExtensionFailure) {
      w.writeByte(SSH_AGENT_EXTENSION_FAILURE);
    } else if (response instanceof ExtensionResponse e) {
      w.writeByte(SSH_AGENT_EXTENSION_RESPONSE).writeString(e.name()).writeRaw(e.contents());
    } else {
      throw new IllegalArgumentException("unknown response " + response);
    }
    return w.toByteArray();
  }

  /**
   * The longest prefix of {@code identities} whose IDENTITIES_ANSWER stays within
   * {@link AgentProtocol#MAX_IDENTITIES} keys and {@link AgentProtocol#MAX_MESSAGE_LENGTH} bytes,
   * so a huge key set degrades to "first keys only" instead of a reply every client rejects.
   */
  public static List<Identity> fitIdentities(List<Identity> identities) {
    long size = 1 + 4; // type + count
    int n = 0;
    for (Identity id : identities) {
      long entry = 4L + id.key().length() + 4L + id.comment().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
      if (n == MAX_IDENTITIES || size + entry > MAX_MESSAGE_LENGTH) {
        break;
      }
      size += entry;
      n++;
    }
    return n == identities.size() ? identities : List.copyOf(identities.subList(0, n));
  }
}
