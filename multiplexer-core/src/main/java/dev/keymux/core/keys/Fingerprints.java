package dev.keymux.core.keys;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/** Key fingerprints exactly as OpenSSH prints them ({@code ssh-keygen -l}, {@code ssh-add -l}). */
public final class Fingerprints {
  private Fingerprints() {}

  /** {@code SHA256:} and the unpadded base64 of the blob's SHA-256 (OpenSSH's default). */
  public static String sha256(byte[] blob) {
    return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest("SHA-256", blob));
  }

  /** {@code MD5:} and colon-separated hex pairs (OpenSSH's {@code -E md5}). */
  public static String md5(byte[] blob) {
    StringBuilder sb = new StringBuilder("MD5");
    for (byte b : digest("MD5", blob)) {
      sb.append(':').append(String.format("%02x", b & 0xff));
    }
    return sb.toString();
  }

  /** The fingerprint in the named hash ("sha256" or "md5"). */
  public static String of(byte[] blob, String hash) {
    return "md5".equalsIgnoreCase(hash) ? md5(blob) : sha256(blob);
  }

  /** The leading type string of a key blob, or "unknown" if it is malformed. */
  public static String keyType(byte[] blob) {
    if (blob.length < 4) {
      return "unknown";
    }
    long n = ((blob[0] & 0xffL) << 24) | ((blob[1] & 0xffL) << 16) | ((blob[2] & 0xffL) << 8) | (blob[3] & 0xffL);
    if (n > blob.length - 4 || n > 256) {
      return "unknown";
    }
    return new String(blob, 4, (int) n, StandardCharsets.US_ASCII);
  }

  private static byte[] digest(String algorithm, byte[] data) {
    try {
      return MessageDigest.getInstance(algorithm).digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(algorithm + " is part of every Java platform", e);
    }
  }
}
