import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.Session;
import dev.keymux.core.client.AgentClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Sign-request latency through agent sockets, measured from one client connection:
 * {@code java -cp keymux.jar bench/SignLatency.java COUNT KEYTYPE NAME=SOCKET...}. Each agent gets the
 * same warm-up and the same request count in the same run, so the numbers compare. With
 * {@code list} in place of KEYTYPE it measures list requests (REQUEST_IDENTITIES) instead.
 */
public class SignLatency {
  public static void main(String[] args) throws Exception {
    int count = Integer.parseInt(args[0]);
    String type = args[1];
    System.out.printf("%-16s %9s %8s %8s %8s %8s %8s   (microseconds, %d %s)%n", "agent", "first", "p50", "p90",
        "p99", "mean", "max", count, type.equals("list") ? "list requests" : type + " sign requests, 64-byte data");
    for (int i = 2; i < args.length; i++) {
      String[] nameSocket = args[i].split("=", 2);
      run(nameSocket[0], Path.of(nameSocket[1]), count, type);
    }
  }

  /** One timed request; {@code i} numbers it (sign varies its data by it). */
  interface Request {
    void send(int i) throws Exception;
  }

  static void run(String name, Path socket, int count, String type) throws Exception {
    try (AgentClient client = new AgentClient(socket, Duration.ofSeconds(10))) {
      Session s = Session.local();
      if (type.equals("list")) {
        measure(name, count, i -> client.list(s));
        return;
      }
      List<Identity> ids = client.list(s);
      Identity key = ids.stream().filter(id -> id.key().type().equals(type)).findFirst()
          .orElseThrow(() -> new IllegalStateException(name + " holds no " + type + " key"));
      int flags = type.equals("ssh-rsa") ? 0x04 : 0; // rsa-sha2-512, what OpenSSH clients ask for
      byte[] data = new byte[64];
      measure(name, count, i -> {
        data[0] = (byte) i;
        client.sign(s, key.key(), data, flags);
      });
    }
  }

  static void measure(String name, int count, Request request) throws Exception {
    long f0 = System.nanoTime();
    request.send(0); // the first request: for sign, includes decrypting a file key
    long first = (System.nanoTime() - f0) / 1000;
    for (int i = 0; i < Math.max(200, count / 5); i++) { // warm-up: JIT and connection
      request.send(i);
    }
    long[] micros = new long[count];
    for (int i = 0; i < count; i++) {
      long t0 = System.nanoTime();
      request.send(i);
      micros[i] = (System.nanoTime() - t0) / 1000;
    }
    Arrays.sort(micros);
    double mean = Arrays.stream(micros).average().orElse(0);
    System.out.printf("%-16s %9d %8d %8d %8d %8.0f %8d%n", name, first, micros[count / 2], micros[count * 9 / 10],
        micros[count * 99 / 100], mean, micros[count - 1]);
  }
}
