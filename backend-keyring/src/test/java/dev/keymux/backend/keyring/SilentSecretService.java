package dev.keymux.backend.keyring;

import java.util.Map;
import org.freedesktop.dbus.annotations.DBusInterfaceName;
import org.freedesktop.dbus.interfaces.DBusInterface;
import org.freedesktop.dbus.types.Variant;

/**
 * The calls a lookup makes first, with their argument signatures, for a test service that never
 * answers them (so the return types do not matter; dbus-java exports only public interfaces).
 */
@DBusInterfaceName("org.freedesktop.Secret.Service")
public interface SilentSecretService extends DBusInterface {
  void OpenSession(String algorithm, Variant<?> input);

  void SearchItems(Map<String, String> attributes);
}
