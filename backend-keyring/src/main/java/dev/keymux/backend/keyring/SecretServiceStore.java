package dev.keymux.backend.keyring;

import dev.keymux.core.concurrent.DaemonThreads;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.prompt.SecretStore;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.freedesktop.dbus.DBusPath;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.connections.impl.DBusConnectionBuilder;
import org.freedesktop.dbus.connections.transports.TransportBuilder;
import org.freedesktop.dbus.types.Variant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Secret Service on the session bus (GNOME Keyring, KWallet), over dbus-java. Each lookup
 * opens a private connection and a "plain" session (the bus is a local socket of this user), and
 * closes both. The whole exchange — connecting and every call — must finish within
 * {@link #DEADLINE}: callers hold a key's lock meanwhile. No bus, no service, a service that does
 * not answer, or a locked collection: nothing is found, one log line says why, and callers fall
 * back to asking — never a hang, never a desktop prompt from here.
 */
final class SecretServiceStore implements SecretStore {
  private static final Logger log = LoggerFactory.getLogger(SecretServiceStore.class);

  /**
   * How long one whole exchange with the Secret Service may take (dbus-java would wait 20 s per
   * call, four calls per lookup). A desktop keyring answers in milliseconds; starting it on
   * demand (D-Bus activation) takes well under a second.
   */
  static final Duration DEADLINE = Duration.ofSeconds(2);

  private final Map<String, String> env;
  private final Duration deadline;
  private final ExecutorService exchanges = Executors.newCachedThreadPool(DaemonThreads.named("keymux-secret-service"));
  private volatile String lastProblem = "";

  @Inject
  SecretServiceStore(KeyringDefaults defaults) {
    this(defaults.askpassEnv(), DEADLINE);
  }

  SecretServiceStore(Map<String, String> env, Duration deadline) {
    this.env = env;
    this.deadline = deadline;
  }

  private void problem(String why) {
    if (!why.equals(lastProblem)) {
      log.info("Secret Service not used: {}; asking instead", why);
      lastProblem = why;
    }
  }

  /** One exchange with the Secret Service over a fresh private connection. */
  private interface Exchange<T> {
    T run(DBusConnection bus) throws Exception;
  }

  /**
   * Runs an exchange within the deadline; on any failure or when the deadline passes, logs why
   * (once per distinct reason) and returns {@code unavailable}. A late exchange is interrupted
   * and its connection closed, which ends dbus-java's wait for the reply.
   */
  private <T> T exchange(T unavailable, Exchange<T> exchange) {
    String address = env.getOrDefault("DBUS_SESSION_BUS_ADDRESS", "");
    if (address.isEmpty()) {
      problem("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)");
      return unavailable;
    }
    DbusJava.load();
    AtomicReference<DBusConnection> open = new AtomicReference<>();
    Future<T> result = exchanges.submit(() -> {
      try (DBusConnection bus = DBusConnectionBuilder.forAddress(address).withShared(false).build()) {
        open.set(bus);
        return exchange.run(bus);
      }
    });
    try {
      return result.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      result.cancel(true);
      DBusConnection bus = open.get();
      if (bus != null) {
        bus.disconnect();
      }
      problem("no answer within " + deadline.toMillis() + " ms");
      return unavailable;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      problem("unavailable (" + (cause.getMessage() != null ? cause.getMessage() : cause.toString()) + ")");
      return unavailable;
    } catch (InterruptedException e) {
      result.cancel(true);
      Thread.currentThread().interrupt();
      return unavailable;
    }
  }

  /**
   * dbus-java's classes and transport providers, loaded once before the first deadline starts:
   * on a busy machine loading them can take longer than the Secret Service ever needs to answer,
   * and it reads only jars, so it cannot hang.
   */
  private static final class DbusJava {
    static {
      TransportBuilder.getRegisteredBusTypes();
    }

    static void load() {
      // the static initializer did the work
    }
  }

  private static SecretServiceApi.Service service(DBusConnection bus) throws Exception {
    return bus.getRemoteObject(SecretServiceApi.BUS_NAME, SecretServiceApi.SERVICE_PATH, SecretServiceApi.Service.class);
  }

  @Override
  public Optional<byte[]> find(Map<String, String> attributes) {
    return exchange(Optional.<byte[]>empty(), bus -> {
      SecretServiceApi.Service service = service(bus);
      SecretServiceApi.OpenSessionResult session = service.OpenSession("plain", new Variant<>(""));
      try {
        SecretServiceApi.SearchResult found = service.SearchItems(attributes);
        if (found.unlocked.isEmpty()) {
          if (!found.locked.isEmpty()) {
            problem("the keyring holding the secret is locked");
          }
          return Optional.empty();
        }
        Map<DBusPath, SecretServiceApi.Secret> secrets = service.GetSecrets(List.of(found.unlocked.get(0)), session.result);
        for (SecretServiceApi.Secret s : secrets.values()) {
          lastProblem = "";
          return Optional.of(s.value);
        }
        return Optional.empty();
      } finally {
        closeSession(bus, session.result);
      }
    });
  }

  @Override
  public boolean reachable() {
    return exchange(false, bus -> {
      service(bus).SearchItems(Map.of("keymux-probe", "1"));
      return true;
    });
  }

  @Override
  public boolean store(String label, Map<String, String> attributes, byte[] secret) {
    // The exchange gets its own copy, wiped when it ends: after the deadline it may still run.
    byte[] copy = secret.clone();
    Arrays.fill(secret, (byte) 0);
    return exchange(false, bus -> {
      try {
        SecretServiceApi.Service service = service(bus);
        SecretServiceApi.OpenSessionResult session = service.OpenSession("plain", new Variant<>(""));
        try {
          SecretServiceApi.Collection collection = bus.getRemoteObject(SecretServiceApi.BUS_NAME,
              SecretServiceApi.DEFAULT_COLLECTION, SecretServiceApi.Collection.class);
          Map<String, Variant<?>> props = Map.of(
              "org.freedesktop.Secret.Item.Label", new Variant<>(label),
              "org.freedesktop.Secret.Item.Attributes", new Variant<>(attributes, "a{ss}"));
          SecretServiceApi.CreateItemResult r = collection.CreateItem(props,
              new SecretServiceApi.Secret(session.result, new byte[0], copy, "text/plain"), true);
          return !"/".equals(r.item.getPath());
        } finally {
          closeSession(bus, session.result);
        }
      } finally {
        Arrays.fill(copy, (byte) 0);
      }
    });
  }

  private static void closeSession(DBusConnection bus, DBusPath session) {
    try {
      bus.getRemoteObject(SecretServiceApi.BUS_NAME, session.getPath(), SecretServiceApi.Session.class).Close();
    } catch (Exception ignored) {
      // the connection closes next anyway
    }
  }
}
