package dev.keymux.backend.keyring;

import java.util.List;
import java.util.Map;
import org.freedesktop.dbus.DBusPath;
import org.freedesktop.dbus.Struct;
import org.freedesktop.dbus.Tuple;
import org.freedesktop.dbus.annotations.DBusInterfaceName;
import org.freedesktop.dbus.annotations.Position;
import org.freedesktop.dbus.interfaces.DBusInterface;
import org.freedesktop.dbus.types.Variant;

/** The parts of the freedesktop Secret Service API (org.freedesktop.Secret.*) keymux uses. */
final class SecretServiceApi {
  private SecretServiceApi() {}

  static final String BUS_NAME = "org.freedesktop.secrets";
  static final String SERVICE_PATH = "/org/freedesktop/secrets";
  static final String DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default";

  @DBusInterfaceName("org.freedesktop.Secret.Service")
  interface Service extends DBusInterface {
    OpenSessionResult OpenSession(String algorithm, Variant<?> input);

    SearchResult SearchItems(Map<String, String> attributes);

    Map<DBusPath, Secret> GetSecrets(List<DBusPath> items, DBusPath session);
  }

  @DBusInterfaceName("org.freedesktop.Secret.Collection")
  interface Collection extends DBusInterface {
    CreateItemResult CreateItem(Map<String, Variant<?>> properties, Secret secret, boolean replace);
  }

  @DBusInterfaceName("org.freedesktop.Secret.Session")
  interface Session extends DBusInterface {
    void Close();
  }

  /** (output, result session path) of OpenSession. */
  public static final class OpenSessionResult extends Tuple {
    @Position(0) public final Variant<?> output;
    @Position(1) public final DBusPath result;

    public OpenSessionResult(Variant<?> output, DBusPath result) {
      this.output = output;
      this.result = result;
    }
  }

  /** (unlocked, locked) item paths of SearchItems. */
  public static final class SearchResult extends Tuple {
    @Position(0) public final List<DBusPath> unlocked;
    @Position(1) public final List<DBusPath> locked;

    public SearchResult(List<DBusPath> unlocked, List<DBusPath> locked) {
      this.unlocked = unlocked;
      this.locked = locked;
    }
  }

  /** (item, prompt) of CreateItem; prompt "/" means none was needed. */
  public static final class CreateItemResult extends Tuple {
    @Position(0) public final DBusPath item;
    @Position(1) public final DBusPath prompt;

    public CreateItemResult(DBusPath item, DBusPath prompt) {
      this.item = item;
      this.prompt = prompt;
    }
  }

  /** The Secret struct (oayays): session, parameters, value, content type. */
  public static final class Secret extends Struct {
    @Position(0) public final DBusPath session;
    @Position(1) public final byte[] parameters;
    @Position(2) public final byte[] value;
    @Position(3) public final String contentType;

    public Secret(DBusPath session, byte[] parameters, byte[] value, String contentType) {
      this.session = session;
      this.parameters = parameters;
      this.value = value;
      this.contentType = contentType;
    }
  }
}
