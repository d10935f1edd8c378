import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.Session;
import dev.keymux.core.client.AgentClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A burst of sign requests from several clients at once, each on its own connection:
 * {@code java -cp keymux.jar bench/SignBurst.java TOTAL CLIENTS SOCKET}. Prints one line with the
 * requests per second the agent sustained; exits non-zero if any request failed.
 */
public class SignBurst {
  public static void main(String[] args) throws Exception {
    int total = Integer.parseInt(args[0]);
    int clients = Integer.parseInt(args[1]);
    Path socket = Path.of(args[2]);
    AtomicInteger next = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    Thread[] threads = new Thread[clients];
    long t0 = System.nanoTime();
    for (int c = 0; c < clients; c++) {
      threads[c] = new Thread(() -> {
        try (AgentClient client = new AgentClient(socket, Duration.ofSeconds(30))) {
          Session s = Session.local();
          List<Identity> ids = client.list(s);
          Identity key = ids.get(0);
          byte[] data = new byte[64];
          for (int i = next.getAndIncrement(); i < total; i = next.getAndIncrement()) {
            data[0] = (byte) i;
            data[1] = (byte) (i >> 8);
            client.sign(s, key.key(), data, 0);
          }
        } catch (Exception e) {
          failed.incrementAndGet();
          System.err.println("client failed: " + e);
        }
      });
      threads[c].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("%d signs from %d clients in %.1f s: %.0f signs/s%n", total, clients, seconds, total / seconds);
    System.exit(failed.get() == 0 ? 0 : 1);
  }
}
