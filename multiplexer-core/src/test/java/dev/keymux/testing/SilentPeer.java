package dev.keymux.testing;

import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assertions;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * A hung agent: a socket that accepts connections, counts them, keeps them open and never
 * answers. Closing it closes the socket and every connection.
 */
public final class SilentPeer implements AutoCloseable {
  private final AFUNIXServerSocket server;
  private final List<Socket> held = new CopyOnWriteArrayList<>();
  private final AtomicInteger accepted = new AtomicInteger();

  public SilentPeer(Path path) throws Exception {
    server = AFUNIXServerSocket.newInstance();
    server.bind(AFUNIXSocketAddress.of(path.toFile()));
    Thread t = new Thread(() -> {
      try {
        while (true) {
          held.add(server.accept());
          accepted.incrementAndGet();
        }
      } catch (Exception e) {
        // closed
      }
    }, "silent-peer");
    t.setDaemon(true);
    t.start();
  }

  public int accepted() {
    return accepted.get();
  }

  /** Waits (up to 5 s) until {@code connections} were accepted, and fails unless exactly that many were. */
  public void awaitAccepted(int connections) throws InterruptedException {
    long t0 = System.currentTimeMillis();
    while (accepted.get() < connections && System.currentTimeMillis() - t0 < 5000) {
      Thread.sleep(10);
    }
    Assertions.assertEquals(connections, accepted.get());
  }

  @Override
  public void close() throws Exception {
    server.close();
    for (Socket s : held) {
      s.close();
    }
  }
}
