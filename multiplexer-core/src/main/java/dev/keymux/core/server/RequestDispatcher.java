package dev.keymux.core.server;

import dev.keymux.core.agent.Agent;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.Session;
import dev.keymux.core.wire.AgentCodec;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.AgentRequest;
import dev.keymux.core.wire.AgentRequest.*;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.SshWriter;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns one decoded request into exactly one response. This is the single place where errors
 * become replies: an {@link AgentException} or any unexpected exception becomes
 * SSH_AGENT_FAILURE (or SSH_AGENT_EXTENSION_FAILURE for a failed supported extension), and
 * secrets carried by the request are wiped whatever happens.
 */
public final class RequestDispatcher {
  private static final Logger log = LoggerFactory.getLogger(RequestDispatcher.class);

  /** Extensions keymux answers itself, advertised by "query". */
  static final List<String> OWN_EXTENSIONS = List.of(AgentProtocol.EXT_QUERY, AgentProtocol.EXT_SESSION_BIND);

  private final Agent agent;
  private final AgentLock lock;
  private final Runnable onLocked;
  private final Predicate<Session> mayLock;

  /**
   * @param onLocked run after the agent was locked (backends drop decrypted keys)
   */
  public RequestDispatcher(Agent agent, AgentLock lock, Runnable onLocked) {
    this(agent, lock, onLocked, session -> true);
  }

  /**
   * @param mayLock whether a connection may lock and unlock the whole agent (scoped sockets may not)
   */
  public RequestDispatcher(Agent agent, AgentLock lock, Runnable onLocked, Predicate<Session> mayLock) {
    this.agent = agent;
    this.lock = lock;
    this.onLocked = onLocked;
    this.mayLock = mayLock;
  }

  public AgentResponse handle(Session session, AgentRequest request) {
    try {
      return dispatch(session, request);
    } catch (AgentException e) {
      log.info("{}: {} failed: {}", session, name(request), e.getMessage());
      log.debug("details", e);
      return e.kind() == AgentException.Kind.EXTENSION_FAILED ? AgentResponse.EXTENSION_FAILURE : AgentResponse.FAILURE;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return AgentResponse.FAILURE;
    } catch (RuntimeException e) {
      log.warn("{}: {} failed with an internal error", session, name(request), e);
      return AgentResponse.FAILURE;
    } finally {
      wipe(request);
    }
  }

  private AgentResponse dispatch(Session session, AgentRequest request) throws AgentException, InterruptedException {
    if (lock.isLocked() && !(request instanceof Unlock)) {
      // A locked agent lists nothing and does nothing else (RFC 9987 §3.7, OpenSSH behaviour).
      if (request instanceof RequestIdentities) {
        return new AgentResponse.IdentitiesAnswer(List.of());
      }
      throw AgentException.failed("agent is locked");
    }
    if (request instanceof RequestIdentities) {
      List<Identity> all = agent.list(session);
      List<Identity> fitted = AgentCodec.fitIdentities(all);
      if (fitted.size() < all.size()) {
        log.warn("{}: offering only the first {} of {} keys (reply limits: {} keys, {} bytes)", session,
            fitted.size(), all.size(), AgentProtocol.MAX_IDENTITIES, AgentProtocol.MAX_MESSAGE_LENGTH);
      }
      return new AgentResponse.IdentitiesAnswer(fitted);
    } else if (request instanceof SignRequest s) {
      return new AgentResponse.SignResponse(agent.sign(session, s.key(), s.data(), s.flags()));
    } else if (request instanceof AddIdentity a) {
      agent.add(session, a);
      return AgentResponse.SUCCESS;
    } else if (request instanceof RemoveIdentity r) {
      agent.remove(session, r.key());
      return AgentResponse.SUCCESS;
    } else if (request instanceof RemoveAllIdentities) {
      agent.removeAll(session);
      return AgentResponse.SUCCESS;
    } else if (request instanceof AddSmartcardKey a) {
      agent.addSmartcard(session, a);
      return AgentResponse.SUCCESS;
    } else if (request instanceof RemoveSmartcardKey r) {
      agent.removeSmartcard(session, r);
      return AgentResponse.SUCCESS;
    } else if ((request instanceof Lock || request instanceof Unlock) && !mayLock.test(session)) {
      throw AgentException.failed("socket " + session.peer().socketName() + " may not lock or unlock the agent");
    } else if (request instanceof Lock l) {
      if (!lock.lock(l.passphrase())) {
        throw AgentException.failed("agent is already locked");
      }
      log.info("{}: agent locked", session);
      onLocked.run();
      return AgentResponse.SUCCESS;
    } else if (request instanceof Unlock u) {
      if (!lock.unlock(u.passphrase())) {
        throw AgentException.failed(lock.isLocked() ? "wrong passphrase" : "agent is not locked");
      }
      log.info("{}: agent unlocked", session);
      return AgentResponse.SUCCESS;
    } else if (request instanceof Extension x) {
      return extension(session, x);
    }
    throw new IllegalStateException("unhandled request " + request);
  }

  private AgentResponse extension(Session session, Extension x) throws AgentException {
    switch (x.name()) {
      case AgentProtocol.EXT_QUERY: {
        SshWriter w = new SshWriter();
        OWN_EXTENSIONS.forEach(w::writeString);
        agent.extensions().forEach(w::writeString);
        return new AgentResponse.ExtensionResponse(AgentProtocol.EXT_QUERY, w.toByteArray());
      }
      case AgentProtocol.EXT_SESSION_BIND:
        SessionBinder.bind(session, x.contents());
        return AgentResponse.SUCCESS;
      default:
        try {
          return agent.extension(session, x.name(), x.contents());
        } catch (AgentException e) {
          if (e.kind() == AgentException.Kind.UNSUPPORTED) {
            // RFC 9987 §3.8: an unrecognised extension gets a plain SSH_AGENT_FAILURE.
            throw AgentException.failed("unsupported extension " + x.name());
          }
          throw e;
        }
    }
  }

  private static String name(AgentRequest request) {
    return request.getClass().getSimpleName();
  }

  private static void wipe(AgentRequest request) {
    Consumer<byte[]> zero = b -> Arrays.fill(b, (byte) 0);
    if (request instanceof AddIdentity a) {
      a.wipe();
    } else if (request instanceof AddSmartcardKey a) {
      a.wipe();
    } else if (request instanceof RemoveSmartcardKey r) {
      zero.accept(r.pin());
    } else if (request instanceof Lock l) {
      zero.accept(l.passphrase());
    } else if (request instanceof Unlock u) {
      zero.accept(u.passphrase());
    }
  }
}
