package dev.keymux.backend.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.newsclub.net.unix.AFUNIXServerSocket;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * A byte relay in front of a real agent, so a test can make the path to it fail the way real
 * paths fail: {@link #cut()} drops every open connection (a forwarded agent whose ssh session
 * ended), {@link #hang()} swallows requests so nothing ever answers.
 */
final class Relay implements AutoCloseable {
  private final AFUNIXServerSocket server;
  private final Path target;
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  final AtomicInteger accepted = new AtomicInteger();
  private volatile boolean hung;

  Relay(Path listen, Path target) throws IOException {
    this.target = target;
    server = AFUNIXServerSocket.newInstance();
    server.bind(AFUNIXSocketAddress.of(listen.toFile()));
    Thread t = new Thread(this::acceptLoop, "relay-accept");
    t.setDaemon(true);
    t.start();
  }

  private void acceptLoop() {
    try {
      while (true) {
        Socket client = server.accept();
        Socket upstream = AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(target.toFile()));
        open.add(client);
        open.add(upstream);
        accepted.incrementAndGet();
        pump(client, upstream);
        pump(upstream, client);
      }
    } catch (IOException e) {
      // closed
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[8192];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        for (int n; (n = in.read(buf)) > 0; ) {
          if (!hung) {
            out.write(buf, 0, n);
            out.flush();
          }
        }
      } catch (IOException e) {
        // one side went away
      } finally {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "relay-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  /** Drops every connection open now; new ones are relayed as before. */
  void cut() {
    open.forEach(Relay::closeQuietly);
    open.clear();
  }

  /** From now on requests go nowhere and nothing answers. */
  void hang() {
    hung = true;
  }

  void awaitAccepted(int n) throws InterruptedException {
    long t0 = System.currentTimeMillis();
    while (accepted.get() < n && System.currentTimeMillis() - t0 < 5000) {
      Thread.sleep(10);
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    cut();
  }
}
