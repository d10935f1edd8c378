package dev.keymux.core.server;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.keyring.InMemoryKeyring;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.testing.RealComponents;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

class AgentServerTest {
  Path dir;
  Path socket;
  AgentServer server;

  @BeforeEach
  void setUp() throws IOException {
    dir = Files.createTempDirectory(Path.of("/tmp"), "kmxs").resolve("keymux");
    socket = dir.resolve("agent.sock");
  }

  @AfterEach
  void tearDown() throws IOException {
    if (server != null) {
      server.close();
    }
    Files.deleteIfExists(socket);
    Files.deleteIfExists(dir);
    Files.deleteIfExists(dir.getParent());
  }

  private AgentServer newServer(int maxConnections) {
    InMemoryKeyring keyring = new InMemoryKeyring("added", new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), Map.of()));
    return new AgentServer("test", socket, new RequestDispatcher(keyring, new AgentLock(Duration.ofSeconds(1)), () -> {}),
        maxConnections, Set.of());
  }

  private void start(int maxConnections) throws IOException {
    server = newServer(maxConnections);
    server.start();
  }

  private static AFUNIXSocket connect(Path p) throws IOException {
    AFUNIXSocket s = AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(p.toFile()));
    s.setSoTimeout(5000);
    return s;
  }

  /** Sends raw bytes; returns the reply frame's body, or null if the server closed the connection. */
  private byte[] exchange(AFUNIXSocket s, byte[] raw) throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    int len;
    try {
      OutputStream out = s.getOutputStream();
      out.write(raw);
      out.flush();
      len = in.readInt();
    } catch (java.io.EOFException | java.net.SocketException e) {
      return null; // closed by the server: EOF, or a reset when our bytes were left unread
    }
    byte[] body = new byte[len];
    in.readFully(body);
    return body;
  }

  private static byte[] frame(byte... body) {
    byte[] f = new byte[4 + body.length];
    f[3] = (byte) body.length;
    f[2] = (byte) (body.length >> 8);
    System.arraycopy(body, 0, f, 4, body.length);
    return f;
  }

  private void assertStillServing() throws IOException {
    try (AFUNIXSocket s = connect(socket)) {
      assertArrayEquals(new byte[] {12, 0, 0, 0, 0}, exchange(s, frame((byte) 11)), "an empty identity answer");
    }
  }

  @Test
  void socketIsPrivate() throws IOException {
    start(4);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    assertStillServing();
  }

  @Test
  void aSharedDirectoryChosenByTheUserIsLeftAsItIs() throws IOException {
    // Like `keymux agent -a /tmp/x.sock`: never chmod a directory keymux did not create.
    Path shared = Files.createDirectories(dir.getParent().resolve("shared"));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path sock = shared.resolve("x.sock");
    AgentServer s = new AgentServer("shared", sock, new RequestDispatcher(
        new InMemoryKeyring("added", new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), Map.of())),
        new AgentLock(Duration.ofSeconds(1)), () -> {}), 2, Set.of());
    try {
      s.start();
      assertEquals("rwxrwxrwx", PosixFilePermissions.toString(Files.getPosixFilePermissions(shared)));
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
    } finally {
      s.close();
      Files.deleteIfExists(shared);
    }
  }

  @Test
  void closeRemovesTheSocket() throws IOException {
    start(4);
    server.close();
    assertFalse(Files.exists(socket));
  }

  @Test
  void aStaleSocketIsReplaced() throws IOException {
    start(4);
    // Simulate a crashed agent: the file stays, nobody answers.
    AgentServer first = server;
    first.close();
    var stale = org.newsclub.net.unix.AFUNIXServerSocket.newInstance();
    stale.bind(AFUNIXSocketAddress.of(socket.toFile()));
    stale.setDeleteOnClose(false);
    stale.close();
    assertTrue(Files.exists(socket), "stale socket file left behind");
    start(4);
    assertStillServing();
  }

  @Test
  void aLiveAgentIsNotReplaced() throws IOException {
    start(4);
    AgentServer second = newServer(4);
    IOException e = assertThrows(IOException.class, second::start);
    assertTrue(e.getMessage().contains("already answering"), e.getMessage());
    second.close(); // must not remove the socket of the agent that owns it
    assertStillServing();
  }

  @Test
  void aRegularFileIsNotReplaced() throws IOException {
    Files.createDirectories(dir);
    Files.writeString(socket, "precious");
    server = newServer(4);
    assertThrows(IOException.class, server::start);
    assertEquals("precious", Files.readString(socket));
    server = null;
    Files.delete(socket);
  }

  static List<Object[]> badFrames() {
    List<Object[]> cases = new ArrayList<>();
    int over = AgentProtocol.MAX_MESSAGE_LENGTH + 1;
    cases.add(new Object[] {"length 0", new byte[] {0, 0, 0, 0}, true});
    cases.add(new Object[] {"length over 256 KiB", new byte[] {(byte) (over >>> 24), (byte) (over >>> 16), (byte) (over >>> 8), (byte) over}, true});
    cases.add(new Object[] {"length 2^32-1", new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}, true});
    cases.add(new Object[] {"unknown type", frame((byte) 200), false});
    cases.add(new Object[] {"trailing bytes", frame((byte) 11, (byte) 0), false});
    cases.add(new Object[] {"bad string length", frame((byte) 13, (byte) 0x7f, (byte) 0, (byte) 0, (byte) 0), false});
    cases.add(new Object[] {"truncated sign request", frame((byte) 13, (byte) 0, (byte) 0, (byte) 0, (byte) 4, (byte) 1), false});
    cases.add(new Object[] {"add of unknown key type", frame((byte) 17, (byte) 0, (byte) 0, (byte) 0, (byte) 1, (byte) 'x'), false});
    return cases;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badFrames")
  void badFramesGetFailureOrAClosedConnection(String name, byte[] raw, boolean closes) throws IOException {
    start(4);
    try (AFUNIXSocket s = connect(socket)) {
      byte[] reply = exchange(s, raw);
      if (closes) {
        assertNull(reply, "connection closed");
      } else {
        assertArrayEquals(new byte[] {AgentProtocol.SSH_AGENT_FAILURE}, reply);
        // the connection stays usable after a FAILURE
        assertArrayEquals(new byte[] {12, 0, 0, 0, 0}, exchange(s, frame((byte) 11)));
      }
    }
    assertStillServing();
  }

  @Test
  void aHalfSentFrameDoesNotBlockOtherClients() throws IOException {
    start(4);
    try (AFUNIXSocket stuck = connect(socket)) {
      stuck.getOutputStream().write(new byte[] {0, 0, 1, 0, 11}); // promises 256 bytes, sends 1
      assertStillServing();
    }
  }

  @Test
  void connectionsBeyondThePoolAreClosedNotQueued() throws Exception {
    start(2);
    try (AFUNIXSocket a = connect(socket); AFUNIXSocket b = connect(socket)) {
      assertNotNull(exchange(a, frame((byte) 11)));
      assertNotNull(exchange(b, frame((byte) 11)));
      try (AFUNIXSocket c = connect(socket)) {
        assertNull(exchange(c, frame((byte) 11)), "third connection is closed");
      }
    }
    // Slots free up once clients leave.
    long deadline = System.currentTimeMillis() + 5000;
    while (true) {
      try {
        assertStillServing();
        break;
      } catch (AssertionError | IOException e) {
        if (System.currentTimeMillis() > deadline) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }

  @Test
  void failedAcceptsArePausedAndRetriedNotTheEndOfServing() throws Exception {
    // The first accepts fail as they do when the process is out of file descriptors (EMFILE);
    // the real socket then accepts again, and a client waiting in the backlog gets its answer.
    AtomicInteger calls = new AtomicInteger();
    List<Long> failedAt = java.util.Collections.synchronizedList(new ArrayList<>());
    InMemoryKeyring keyring = new InMemoryKeyring("added", new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), Map.of()));
    server = new AgentServer("test", socket, new RequestDispatcher(keyring, new AgentLock(Duration.ofSeconds(1)), () -> {}),
        4, Set.of(), listening -> {
          if (calls.incrementAndGet() <= 4) {
            failedAt.add(System.nanoTime());
            throw new java.net.SocketException("Too many open files");
          }
          return listening.accept();
        });
    server.start();
    assertStillServing();
    assertStillServing();
    assertEquals(4, failedAt.size());
    long pausedMs = TimeUnit.NANOSECONDS.toMillis(failedAt.get(3) - failedAt.get(0));
    // 50 + 100 + 200 ms of back-off between the four failures: not a busy loop.
    assertTrue(pausedMs >= 300, "accept retried after " + pausedMs + " ms");
    assertTrue(calls.get() >= 6, "accepting went on: " + calls.get() + " calls");
  }

  @Test
  void closeEndsAnAcceptThatKeepsFailing() throws Exception {
    InMemoryKeyring keyring = new InMemoryKeyring("added", new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), Map.of()));
    AtomicInteger calls = new AtomicInteger();
    server = new AgentServer("test", socket, new RequestDispatcher(keyring, new AgentLock(Duration.ofSeconds(1)), () -> {}),
        4, Set.of(), listening -> {
          calls.incrementAndGet();
          throw new java.io.IOException("accept failed");
        });
    server.start();
    Thread.sleep(AgentServer.ACCEPT_BACKOFF_MAX.toMillis());
    server.close();
    assertFalse(Files.exists(socket));
    Thread.sleep(200);
    int after = calls.get();
    Thread.sleep(AgentServer.ACCEPT_BACKOFF_MAX.toMillis() + 500);
    assertEquals(after, calls.get(), "no accept attempts after close");
  }

  @Test
  void aPeerWithAnotherUidIsRefused() throws Exception {
    // CI requires it (-Dkeymux.require=...,other-uid): the peer-uid check must never be skipped there.
    RealComponents.require("other-uid", Posix.currentUid() == 0 && RealComponents.commandExists("/usr/bin/setpriv")
        && RealComponents.commandExists("/usr/bin/ssh-add"),
        "connecting as another uid needs root, /usr/bin/setpriv (util-linux) and /usr/bin/ssh-add");
    start(4);
    // Open the path up so that only the peer-uid check stands in the way.
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
    ProcessBuilder pb = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        "/usr/bin/ssh-add", "-l").redirectErrorStream(true);
    pb.environment().put("SSH_AUTH_SOCK", socket.toString());
    Process p = pb.start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(10, TimeUnit.SECONDS));
    assertEquals(2, p.exitValue(), "ssh-add cannot talk to the agent: " + out);
    assertStillServing();
  }

  @Test
  void aScopedSocketDirectorySomeoneElseMadeFirstIsRefused() throws Exception {
    RealComponents.require("other-uid", Posix.currentUid() == 0, "making a directory owned by another uid needs root");
    Files.createDirectory(dir);
    Files.setAttribute(dir, "unix:uid", 65534); // e.g. made in /tmp by another user before keymux started
    InMemoryKeyring keyring = new InMemoryKeyring("added", new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(1), Map.of()));
    RequestDispatcher dispatcher = new RequestDispatcher(keyring, new AgentLock(Duration.ofSeconds(1)), () -> {});
    server = new AgentServer("scoped", socket, dispatcher, 4, new SocketAccess(0660, "", "", Set.of(), Set.of(), true, false));
    IOException e = assertThrows(IOException.class, server::start);
    assertTrue(e.getMessage().contains("belongs to uid 65534, not to keymux"), e.getMessage());
    assertFalse(Files.exists(socket), "nothing was bound in it");
    server = null;

    // Its configured owner's directory (from an earlier run) is fine.
    AgentServer owned = new AgentServer("scoped", socket, dispatcher, 4,
        new SocketAccess(0660, "65534", "", Set.of(), Set.of(), true, false));
    owned.start();
    try {
      assertEquals(65534, (Integer) Files.getAttribute(socket, "unix:uid"));
    } finally {
      owned.closeForGood();
    }
  }
}
