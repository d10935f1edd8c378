package dev.keymux.backend.keyring;

import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.prompt.SecretStore;
import jakarta.inject.Inject;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.freedesktop.dbus.DBusPath;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.connections.impl.DBusConnectionBuilder;
import org.freedesktop.dbus.types.Variant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Secret Service on the session bus (GNOME Keyring, KWallet), over dbus-java. Each lookup
 * opens a private connection and a "plain" session (the bus is a local socket of this user), and
 * closes both. No bus, no service or a locked collection: nothing is found, one log line says
 * why, and callers fall back to asking — never a hang, never a desktop prompt from here.
 */
final class SecretServiceStore implements SecretStore {
  private static final Logger log = LoggerFactory.getLogger(SecretServiceStore.class);

  private final Map<String, String> env;
  private volatile String lastProblem = "";

  @Inject
  SecretServiceStore(KeyringDefaults defaults) {
    this.env = defaults.askpassEnv();
  }

  private void problem(String why) {
    if (!why.equals(lastProblem)) {
      log.info("Secret Service not used: {}; asking instead", why);
      lastProblem = why;
    }
  }

  private Optional<DBusConnection> connect() {
    String address = env.getOrDefault("DBUS_SESSION_BUS_ADDRESS", "");
    if (address.isEmpty()) {
      problem("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)");
      return Optional.empty();
    }
    try {
      return Optional.of(DBusConnectionBuilder.forAddress(address).withShared(false).build());
    } catch (Exception e) {
      problem("cannot connect to the session bus (" + e.getMessage() + ")");
      return Optional.empty();
    }
  }

  @Override
  public Optional<byte[]> find(Map<String, String> attributes) {
    Optional<DBusConnection> c = connect();
    if (c.isEmpty()) {
      return Optional.empty();
    }
    try (DBusConnection bus = c.get()) {
      SecretServiceApi.Service service = bus.getRemoteObject(SecretServiceApi.BUS_NAME, SecretServiceApi.SERVICE_PATH,
          SecretServiceApi.Service.class);
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
    } catch (Exception e) {
      problem("Secret Service lookup failed (" + e.getMessage() + ")");
      return Optional.empty();
    }
  }

  @Override
  public boolean reachable() {
    Optional<DBusConnection> c = connect();
    if (c.isEmpty()) {
      return false;
    }
    try (DBusConnection bus = c.get()) {
      bus.getRemoteObject(SecretServiceApi.BUS_NAME, SecretServiceApi.SERVICE_PATH, SecretServiceApi.Service.class)
          .SearchItems(Map.of("keymux-probe", "1"));
      return true;
    } catch (Exception e) {
      problem("Secret Service not reachable (" + e.getMessage() + ")");
      return false;
    }
  }

  @Override
  public boolean store(String label, Map<String, String> attributes, byte[] secret) {
    Optional<DBusConnection> c = connect();
    if (c.isEmpty()) {
      return false;
    }
    try (DBusConnection bus = c.get()) {
      SecretServiceApi.Service service = bus.getRemoteObject(SecretServiceApi.BUS_NAME, SecretServiceApi.SERVICE_PATH,
          SecretServiceApi.Service.class);
      SecretServiceApi.OpenSessionResult session = service.OpenSession("plain", new Variant<>(""));
      try {
        SecretServiceApi.Collection collection = bus.getRemoteObject(SecretServiceApi.BUS_NAME,
            SecretServiceApi.DEFAULT_COLLECTION, SecretServiceApi.Collection.class);
        Map<String, Variant<?>> props = Map.of(
            "org.freedesktop.Secret.Item.Label", new Variant<>(label),
            "org.freedesktop.Secret.Item.Attributes", new Variant<>(attributes, "a{ss}"));
        SecretServiceApi.CreateItemResult r = collection.CreateItem(props,
            new SecretServiceApi.Secret(session.result, new byte[0], secret, "text/plain"), true);
        return !"/".equals(r.item.getPath());
      } finally {
        Arrays.fill(secret, (byte) 0);
        closeSession(bus, session.result);
      }
    } catch (Exception e) {
      problem("Secret Service store failed (" + e.getMessage() + ")");
      return false;
    }
  }

  private static void closeSession(DBusConnection bus, DBusPath session) {
    try {
      bus.getRemoteObject(SecretServiceApi.BUS_NAME, session.getPath(), SecretServiceApi.Session.class).Close();
    } catch (Exception ignored) {
      // the connection closes next anyway
    }
  }
}
