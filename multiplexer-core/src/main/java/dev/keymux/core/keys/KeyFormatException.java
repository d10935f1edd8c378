package dev.keymux.core.keys;

/** A key or certificate that cannot be used: malformed, unsupported type, or inconsistent. */
public final class KeyFormatException extends Exception {
  public KeyFormatException(String message) {
    super(message);
  }
}
