package dev.keymux.core.server;

import dev.keymux.core.concurrent.DaemonThreads;
import dev.keymux.core.agent.Peer;
import dev.keymux.core.agent.Session;
import dev.keymux.core.wire.AgentCodec;
import dev.keymux.core.wire.AgentRequest;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.FrameIO;
import dev.keymux.core.wire.ProtocolException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.newsclub.net.unix.AFUNIXSocketCredentials;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the agent protocol on one AF_UNIX socket. The socket is 0600 inside a 0700 directory;
 * each connection's peer credentials are read and a peer of another uid (other than root or an
 * explicitly allowed uid) is refused. Connections run one per thread from a bounded pool: when
 * it is full, new connections are closed, never queued without limit.
 */
public final class AgentServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentServer.class);
  /** First pause after a failed accept (EMFILE and the like); doubles per failure in a row. */
  static final Duration ACCEPT_BACKOFF_MIN = Duration.ofMillis(50);
  /** Longest pause between accept attempts while they keep failing. */
  static final Duration ACCEPT_BACKOFF_MAX = Duration.ofSeconds(2);

  /** Takes the next connection from the listening socket; tests substitute failures. */
  @FunctionalInterface
  interface Acceptor {
    AFUNIXSocket accept(AFUNIXServerSocket server) throws IOException;
  }

  private final Path socketPath;
  private final RequestDispatcher dispatcher;
  private final SocketAccess access;
  private final int ownUid = Posix.currentUid();
  private final ThreadPoolExecutor workers;
  private final Set<AFUNIXSocket> open = ConcurrentHashMap.newKeySet();
  private final String name;
  private final Acceptor acceptor;
  /** A listening socket systemd passed us: the path and its file are systemd's, not ours. */
  private final AFUNIXServerSocket adopted;
  /** When the last connection ended or the server started (System.nanoTime), for idle exit. */
  private volatile long idleSinceNanos = System.nanoTime();
  private AFUNIXServerSocket server;
  private Thread acceptThread;
  private volatile boolean closed;

  /**
   * @param allowedUids uids besides our own and root that may connect
   */
  public AgentServer(String name, Path socketPath, RequestDispatcher dispatcher, int maxConnections, Set<Integer> allowedUids) {
    this(name, socketPath, dispatcher, maxConnections, SocketAccess.main(allowedUids));
  }

  /**
   * @param access file permissions and peer check for this socket
   */
  public AgentServer(String name, Path socketPath, RequestDispatcher dispatcher, int maxConnections, SocketAccess access) {
    this(name, socketPath, dispatcher, maxConnections, access, AFUNIXServerSocket::accept, null);
  }

  /**
   * Serves on a listening socket systemd passed (socket activation). Nothing is bound, created,
   * chmod-ed or removed: the socket file, its mode and its directory are the unit's; the peer
   * check is the main socket's as always.
   */
  public static AgentServer adopting(String name, AFUNIXServerSocket listening, RequestDispatcher dispatcher,
      int maxConnections, Set<Integer> allowedUids) throws IOException {
    listening.setDeleteOnClose(false); // junixsocket would unlink the path on close: systemd's file must stay
    var address = (AFUNIXSocketAddress) listening.getLocalSocketAddress();
    Path path = address != null && address.hasFilename() ? address.getFile().toPath() : Path.of("(systemd socket)");
    return new AgentServer(name, path, dispatcher, maxConnections, SocketAccess.main(allowedUids),
        AFUNIXServerSocket::accept, listening);
  }

  AgentServer(String name, Path socketPath, RequestDispatcher dispatcher, int maxConnections, Set<Integer> allowedUids,
      Acceptor acceptor) {
    this(name, socketPath, dispatcher, maxConnections, SocketAccess.main(allowedUids), acceptor, null);
  }

  private AgentServer(String name, Path socketPath, RequestDispatcher dispatcher, int maxConnections, SocketAccess access,
      Acceptor acceptor, AFUNIXServerSocket adopted) {
    this.name = name;
    this.adopted = adopted;
    this.acceptor = acceptor;
    this.socketPath = socketPath.toAbsolutePath();
    this.dispatcher = dispatcher;
    this.access = access;
    this.workers = new ThreadPoolExecutor(0, maxConnections, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
        DaemonThreads.numbered("keymux-" + name + "-conn-"));
  }

  public Path socketPath() {
    return socketPath;
  }

  /** True when systemd passed the listening socket (see {@link #adopting}). */
  public boolean adopted() {
    return adopted != null;
  }

  /**
   * How long no connection has been open on this socket; zero while one is. Counted from the end
   * of the last connection, or from {@link #start()}.
   */
  public Duration idle() {
    return open.isEmpty() ? Duration.ofNanos(System.nanoTime() - idleSinceNanos) : Duration.ZERO;
  }

  /**
   * Binds the socket and starts accepting. Fails if another agent answers on the path. An
   * adopted socket is already bound and listening: accepting starts at once.
   */
  public synchronized void start() throws IOException {
    idleSinceNanos = System.nanoTime();
    if (adopted != null) {
      server = adopted;
      startAccepting();
      log.info("adopted the listening socket passed by systemd (fd {}) at {}", SocketActivation.LISTEN_FDS_START,
          socketPath);
      return;
    }
    if (access.ownDirectory()) {
      // Private (0700) until the socket inside is set up; then opened as far as the socket's mode says.
      Posix.prepareOwnDirectory(socketPath.getParent(), socketPath.getFileName().toString(), 0700, access.owner(),
          access.group());
    } else {
      Posix.prepareSocketDirectory(socketPath.getParent());
    }
    removeStaleSocket();
    server = AFUNIXServerSocket.newInstance();
    server.bind(AFUNIXSocketAddress.of(socketPath.toFile()));
    // The 0700 directory keeps others out during the moment before chmod.
    Files.setPosixFilePermissions(socketPath, Posix.permissions(access.mode()));
    if (access.ownDirectory()) {
      Posix.setOwnership(socketPath, access.owner(), access.group());
      Posix.prepareOwnDirectory(socketPath.getParent(), socketPath.getFileName().toString(), access.directoryMode(),
          access.owner(), access.group());
    }
    startAccepting();
    log.info("listening on {}", socketPath);
  }

  private void startAccepting() {
    acceptThread = new Thread(this::acceptLoop, "keymux-" + name + "-accept");
    acceptThread.setDaemon(true);
    acceptThread.start();
  }

  private void removeStaleSocket() throws IOException {
    if (!Files.exists(socketPath, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!"socket".equals(fileKind(socketPath))) {
      throw new IOException(socketPath + " exists and is not a socket; refusing to replace it");
    }
    boolean live;
    try {
      AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(socketPath.toFile())).close();
      live = true;
    } catch (SocketException e) {
      live = false;
    }
    if (live) {
      throw new IOException("another agent is already answering on " + socketPath
          + "; stop it or choose another socket path");
    }
    log.info("removing stale socket {} (nothing answers on it)", socketPath);
    Files.delete(socketPath);
  }

  private static String fileKind(Path p) throws IOException {
    var attrs = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    return attrs.isOther() ? "socket" : attrs.isRegularFile() ? "file" : attrs.isDirectory() ? "directory" : "link";
  }

  /**
   * Accepts until {@link #close()}. A failed accept while the socket is still open (out of file
   * descriptors, a connection aborted before it was taken) is transient: it is logged and the
   * loop pauses, longer with each failure in a row, then keeps accepting. Only our own close ends
   * the loop, or the listening socket itself being gone.
   */
  private void acceptLoop() {
    Duration backoff = Duration.ZERO;
    while (!closed) {
      AFUNIXSocket socket;
      try {
        socket = acceptor.accept(server);
        open.add(socket); // counted from accept, so idle() never sees an accepted connection as none
        backoff = Duration.ZERO;
      } catch (IOException e) {
        if (closed) {
          return;
        }
        if (server.isClosed()) {
          log.error("{}: listening socket {} was closed; socket no longer served", name, socketPath, e);
          return;
        }
        backoff = backoff.isZero() ? ACCEPT_BACKOFF_MIN : min(backoff.multipliedBy(2), ACCEPT_BACKOFF_MAX);
        log.warn("{}: accept on {} failed ({}); retrying in {} ms", name, socketPath, e.toString(), backoff.toMillis());
        try {
          Thread.sleep(backoff.toMillis());
        } catch (InterruptedException ie) {
          return; // close() interrupts a pause
        }
        continue;
      }
      try {
        workers.execute(() -> serve(socket));
      } catch (RejectedExecutionException e) {
        log.warn("{}: all {} connection slots busy; closing a new connection", name, workers.getMaximumPoolSize());
        ended(socket);
      }
    }
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private void serve(AFUNIXSocket socket) {
    Peer peer;
    try {
      AFUNIXSocketCredentials cred = socket.getPeerCredentials();
      peer = new Peer(cred.getPid(), (int) cred.getUid(), (int) cred.getGid(), name);
    } catch (IOException e) {
      log.warn("{}: cannot read peer credentials; closing connection", name, e);
      ended(socket);
      return;
    }
    if (!access.admits(peer, ownUid)) {
      log.warn("{}: refused connection from uid {} gid {} (pid {}): not allowed on this socket", name, peer.uid(),
          peer.gid(), peer.pid());
      ended(socket);
      return;
    }
    try (Session session = new Session(peer)) {
      log.debug("{}: connected on {}", session, name);
      InputStream in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      byte[] frame;
      while ((frame = FrameIO.readFrame(in)) != null) {
        AgentResponse response;
        try {
          AgentRequest request = AgentCodec.decodeRequest(frame);
          response = dispatcher.handle(session, request);
        } catch (ProtocolException e) {
          log.info("{}: malformed request: {}", session, e.getMessage());
          response = AgentResponse.FAILURE;
        } finally {
          java.util.Arrays.fill(frame, (byte) 0); // may hold a private key or passphrase
        }
        FrameIO.writeFrame(out, AgentCodec.encodeResponse(response));
      }
    } catch (FrameIO.FrameException e) {
      log.info("{}: closing connection: {}", name, e.getMessage());
    } catch (IOException e) {
      if (!closed) {
        log.debug("{}: connection ended: {}", name, e.toString());
      }
    } catch (RuntimeException e) {
      log.error("{}: connection failed unexpectedly", name, e);
    } finally {
      ended(socket);
    }
  }

  private void ended(AFUNIXSocket socket) {
    closeQuietly(socket);
    idleSinceNanos = System.nanoTime(); // before the removal, so idle() never counts from an older end
    open.remove(socket);
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // closing after an error; nothing more to do
    }
  }

  /**
   * Stops accepting, closes every connection and removes the socket file (if this server made it;
   * an adopted socket's file is systemd's and stays, so the next connection starts keymux again).
   * A scoped socket's directory stays: a container that mounted it sees the socket again when
   * keymux comes back.
   */
  @Override
  public void close() {
    close(false);
  }

  /** Like {@link #close()}, and a scoped socket's directory goes too (the socket expired for good). */
  public void closeForGood() {
    close(true);
  }

  private synchronized void close(boolean removeDirectory) {
    if (closed) {
      return;
    }
    closed = true;
    if (server == null) {
      workers.shutdownNow();
      return; // never bound: the path may belong to another agent
    }
    closeQuietly(server);
    acceptThread.interrupt(); // ends a pause after a failed accept
    open.forEach(AgentServer::closeQuietly);
    workers.shutdownNow();
    if (adopted != null) {
      log.info("stopped serving {} (systemd's socket; it stays)", socketPath);
      return;
    }
    try {
      Files.deleteIfExists(socketPath);
      if (access.ownDirectory() && removeDirectory) {
        Files.deleteIfExists(socketPath.getParent()); // only if empty: DirectoryNotEmptyException otherwise
      }
    } catch (IOException e) {
      log.warn("could not remove {}: {}", socketPath, e.toString());
    }
    log.info("stopped serving {}", socketPath);
  }
}
