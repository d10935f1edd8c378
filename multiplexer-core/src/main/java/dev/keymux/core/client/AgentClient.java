package dev.keymux.core.client;

import dev.keymux.core.agent.Agent;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.wire.AgentCodec;
import dev.keymux.core.wire.AgentRequest;
import dev.keymux.core.wire.AgentRequest.*;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.FrameIO;
import dev.keymux.core.wire.ProtocolException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * An {@link Agent} that talks to another agent's socket (OpenSSH ssh-agent, gpg-agent, a
 * forwarded agent, keymux itself). One client is one connection, so per-connection state such as
 * session bindings stays with it; requests on it are serialized. A timeout or broken stream
 * closes the connection and the next request opens a new one: {@link #connect()} tells a caller
 * that keeps per-connection state when that happened. Failures to reach the agent are
 * {@link AgentException.Kind#UNREACHABLE}; once {@link #close() closed}, the client never
 * connects again.
 */
public final class AgentClient implements Agent, AutoCloseable {
  private final Path socket;
  private final Duration timeout;
  private final Duration connectTimeout;
  /** Replaced only under {@code this}; read without it by {@link #close()}. */
  private volatile AFUNIXSocket connection;
  private volatile boolean closed;
  private long generation; // guarded by this: connections opened so far

  public AgentClient(Path socket, Duration timeout) {
    this(socket, timeout, timeout);
  }

  /**
   * @param timeout how long one request may wait for its reply
   * @param connectTimeout how long connecting may take
   */
  public AgentClient(Path socket, Duration timeout, Duration connectTimeout) {
    this.socket = socket;
    this.timeout = timeout;
    this.connectTimeout = connectTimeout;
  }

  public Path socket() {
    return socket;
  }

  /**
   * Opens the connection unless one is open, and returns its generation: a number that changes
   * whenever a new connection replaces a dropped one. State told to the agent over the old
   * connection (session bindings) is gone and must be told again when it changes.
   */
  public synchronized long connect() throws AgentException {
    open();
    return generation;
  }

  private static int millis(Duration d) {
    return (int) Math.min(Integer.MAX_VALUE, d.toMillis());
  }

  private AgentException closedError() {
    return AgentException.failed("client of the agent at " + socket + " is closed");
  }

  private AFUNIXSocket open() throws AgentException {
    if (closed) {
      throw closedError();
    }
    AFUNIXSocket c = connection;
    if (c != null && !c.isClosed()) {
      return c;
    }
    try {
      c = AFUNIXSocket.newInstance();
      c.connect(AFUNIXSocketAddress.of(socket.toFile()), millis(connectTimeout));
      c.setSoTimeout(millis(timeout));
    } catch (IOException e) {
      closeQuietly(c);
      throw AgentException.unreachable("agent at " + socket + ": " + e.getMessage(), e);
    }
    connection = c;
    generation++;
    if (closed) { // close() ran meanwhile and may have missed this connection
      disconnect();
      throw closedError();
    }
    return c;
  }

  /** Sends one request and returns the decoded response, connecting first if needed. */
  public synchronized AgentResponse call(AgentRequest request) throws AgentException {
    byte[] body = AgentCodec.encodeRequest(request);
    try {
      AFUNIXSocket c = open();
      FrameIO.writeFrame(c.getOutputStream(), body);
      byte[] reply = FrameIO.readFrame(c.getInputStream());
      if (reply == null) {
        throw new IOException("agent closed the connection");
      }
      return AgentCodec.decodeResponse(reply);
    } catch (SocketTimeoutException e) {
      disconnect();
      throw AgentException.unreachable("agent at " + socket + " did not answer within " + timeout.toMillis() + " ms", e);
    } catch (IOException e) {
      disconnect();
      if (closed) {
        throw closedError();
      }
      throw AgentException.unreachable("agent at " + socket + ": " + e.getMessage(), e);
    } catch (ProtocolException e) {
      disconnect();
      throw AgentException.unreachable("agent at " + socket + " sent a malformed reply: " + e.getMessage(), e);
    } finally {
      java.util.Arrays.fill(body, (byte) 0);
    }
  }

  private void expectSuccess(AgentRequest request) throws AgentException {
    AgentResponse r = call(request);
    if (!(r instanceof AgentResponse.Success)) {
      throw AgentException.failed("agent refused " + request.getClass().getSimpleName() + " (" + r.getClass().getSimpleName() + ")");
    }
  }

  @Override
  public List<Identity> list(Session session) throws AgentException {
    AgentResponse r = call(new RequestIdentities());
    if (r instanceof AgentResponse.IdentitiesAnswer a) {
      return a.identities();
    }
    throw AgentException.failed("agent answered a key list request with " + r.getClass().getSimpleName());
  }

  @Override
  public byte[] sign(Session session, KeyBlob key, byte[] data, int flags) throws AgentException {
    AgentResponse r = call(new SignRequest(key, data, flags));
    if (r instanceof AgentResponse.SignResponse s) {
      return s.signature();
    }
    throw AgentException.failed("agent refused to sign (" + r.getClass().getSimpleName() + ")");
  }

  @Override
  public void add(Session session, AddIdentity request) throws AgentException {
    expectSuccess(request);
  }

  @Override
  public void remove(Session session, KeyBlob key) throws AgentException {
    expectSuccess(new RemoveIdentity(key));
  }

  @Override
  public void removeAll(Session session) throws AgentException {
    expectSuccess(new RemoveAllIdentities());
  }

  @Override
  public void addSmartcard(Session session, AddSmartcardKey request) throws AgentException {
    expectSuccess(request);
  }

  @Override
  public void removeSmartcard(Session session, RemoveSmartcardKey request) throws AgentException {
    expectSuccess(request);
  }

  /** Locks the agent with {@code passphrase}, which stays the caller's to wipe; our copy is wiped here. */
  public void lock(byte[] passphrase) throws AgentException {
    byte[] copy = passphrase.clone();
    try {
      expectSuccess(new Lock(copy));
    } finally {
      java.util.Arrays.fill(copy, (byte) 0);
    }
  }

  /** Unlocks the agent with {@code passphrase}, which stays the caller's to wipe; our copy is wiped here. */
  public void unlock(byte[] passphrase) throws AgentException {
    byte[] copy = passphrase.clone();
    try {
      expectSuccess(new Unlock(copy));
    } finally {
      java.util.Arrays.fill(copy, (byte) 0);
    }
  }

  @Override
  public AgentResponse extension(Session session, String name, byte[] contents) throws AgentException {
    AgentResponse r = call(new Extension(name, contents));
    if (r instanceof AgentResponse.Failure) {
      throw AgentException.unsupported("extension " + name);
    }
    if (r instanceof AgentResponse.ExtensionFailure) {
      throw new AgentException(AgentException.Kind.EXTENSION_FAILED, "extension " + name + " failed");
    }
    return r;
  }

  private void disconnect() {
    AFUNIXSocket c = connection;
    connection = null;
    closeQuietly(c);
  }

  private static void closeQuietly(AFUNIXSocket c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException ignored) {
        // already broken
      }
    }
  }

  /**
   * Closes the connection at once, without waiting for a request in flight (it fails), and for
   * good: later requests fail instead of reconnecting.
   */
  @Override
  public void close() {
    closed = true;
    closeQuietly(connection);
  }

  /**
   * Whether something accepts connections on {@code socket} now. The file of a socket appears at
   * bind(), a moment before listen(); only a connection says an agent is there.
   */
  public static boolean answers(java.nio.file.Path socket) {
    if (!java.nio.file.Files.exists(socket)) {
      return false;
    }
    try (var s = org.newsclub.net.unix.AFUNIXSocket.connectTo(org.newsclub.net.unix.AFUNIXSocketAddress.of(socket.toFile()))) {
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
