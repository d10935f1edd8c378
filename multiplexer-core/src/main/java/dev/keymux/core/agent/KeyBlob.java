package dev.keymux.core.agent;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/**
 * A public key (or certificate) blob exactly as it travels on the wire. Opaque while routed:
 * equality is by content, and only the backend that signs ever parses it.
 */
public final class KeyBlob {
  private final byte[] bytes;
  private final int hash;

  public KeyBlob(byte[] bytes) {
    this.bytes = bytes.clone();
    this.hash = Arrays.hashCode(this.bytes);
  }

  public byte[] bytes() {
    return bytes.clone();
  }

  public int length() {
    return bytes.length;
  }

  /** The key type named at the start of the blob, or "unknown" if it is not well formed. */
  public String type() {
    if (bytes.length < 4) {
      return "unknown";
    }
    long n = ((bytes[0] & 0xffL) << 24) | ((bytes[1] & 0xffL) << 16) | ((bytes[2] & 0xffL) << 8) | (bytes[3] & 0xffL);
    if (n > bytes.length - 4 || n > 256) {
      return "unknown";
    }
    return new String(bytes, 4, (int) n, StandardCharsets.US_ASCII);
  }

  /** The blob in the base64 form of an authorized_keys / .pub line. */
  public String base64() {
    return Base64.getEncoder().encodeToString(bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyBlob other && hash == other.hash && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public String toString() {
    return type() + " (" + bytes.length + " bytes)";
  }
}
