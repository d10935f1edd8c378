package dev.keymux.core.keys;

import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Signs with a security key through OpenSSH's {@code ssh-sk-helper}, as OpenSSH's ssh-agent does:
 * one helper process per signature, which loads the FIDO middleware ("internal" = OpenSSH's
 * built-in libfido2 support, or a provider library) and talks to the authenticator. The
 * provider's code thus never runs inside keymux. Protocol (ssh-sk-client.c, version 5): one
 * framed request {@code uint32 len, byte version, uint32 SIGN, byte log-on-stderr, uint32
 * log-level, string key, string provider, string data, string alg, uint32 compat, string pin} and
 * one framed reply {@code byte version, uint32 SIGN, string signature} or {@code uint32 ERROR,
 * uint32 -code}.
 */
public final class SkHelper {
  /** OpenSSH's _PATH_SSH_SK_HELPER on Debian and most distributions. */
  public static final Path DEFAULT_PATH = Path.of("/usr/lib/openssh/ssh-sk-helper");
  static final int VERSION = 5;
  static final int MSG_ERROR = 0;
  static final int MSG_SIGN = 1;
  /** SYSLOG_LEVEL_ERROR: the helper's own errors go to its stderr, which keymux logs. */
  private static final int LOG_LEVEL_ERROR = 2;
  /** Largest reply read from the helper (a signature is under 200 bytes). */
  private static final int MAX_REPLY = 64 * 1024;
  /** SSH_ERR_KEY_WRONG_PASSPHRASE: the authenticator wants a PIN (or a different one). */
  public static final int ERR_WRONG_PIN = -43;
  /** SSH_ERR_DEVICE_NOT_FOUND. */
  public static final int ERR_DEVICE_NOT_FOUND = -60;

  /** A refusal from the helper, with OpenSSH's error code (negative) or 0 when it failed otherwise. */
  public static final class SkException extends Exception {
    private final int code;

    SkException(int code, String message) {
      super(message);
      this.code = code;
    }

    public int code() {
      return code;
    }
  }

  private final Path helper;
  private final Duration timeout;

  /** {@code helper}: the program; {@code timeout}: how long one signature may take (a touch included). */
  public SkHelper(Path helper, Duration timeout) {
    this.helper = helper;
    this.timeout = timeout;
  }

  /** The helper keymux's environment names ({@code SSH_SK_HELPER}, as for OpenSSH), else the default. */
  public static SkHelper fromEnvironment(Map<String, String> env, Duration timeout) {
    String p = env.get("SSH_SK_HELPER");
    return new SkHelper(p == null || p.isEmpty() ? DEFAULT_PATH : Path.of(p), timeout);
  }

  public Path path() {
    return helper;
  }

  /**
   * The SSH signature of {@code data} by {@code key}. {@code pin} may be null; it is copied into
   * the request, which is wiped after it is written.
   */
  public byte[] sign(SecurityKey key, String provider, byte[] data, byte[] pin) throws SkException, InterruptedException {
    if (!Files.isExecutable(helper)) {
      throw new SkException(0, "ssh-sk-helper " + helper + " is not there (Debian: openssh-client; or set SSH_SK_HELPER)");
    }
    byte[] serialized = key.serialized();
    byte[] request = new SshWriter().writeUint32(MSG_SIGN).writeByte(1).writeUint32(LOG_LEVEL_ERROR)
        .writeString(serialized).writeString(provider).writeString(data).writeString("").writeUint32(0)
        .writeString(pin == null ? new byte[0] : pin).toByteArray();
    Arrays.fill(serialized, (byte) 0);
    Process p;
    try {
      p = new ProcessBuilder(helper.toString()).redirectErrorStream(false).start();
    } catch (IOException e) {
      Arrays.fill(request, (byte) 0);
      throw new SkException(0, "cannot run " + helper + ": " + e.getMessage());
    }
    CompletableFuture<String> stderr = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
    try {
      try (OutputStream out = p.getOutputStream()) {
        byte[] frame = new SshWriter().writeUint32(request.length + 1L).writeByte(VERSION).writeRaw(request).toByteArray();
        out.write(frame);
        out.flush();
        Arrays.fill(frame, (byte) 0);
      } finally {
        Arrays.fill(request, (byte) 0);
      }
      CompletableFuture<byte[]> reply = CompletableFuture.supplyAsync(() -> readFrame(p.getInputStream()));
      byte[] body;
      try {
        body = reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new SkException(0, "the security key did not answer within " + timeout.toSeconds() + " s (no touch?)");
      } catch (java.util.concurrent.ExecutionException e) {
        throw new SkException(0, "ssh-sk-helper failed: " + e.getCause().getMessage() + helperSaid(stderr));
      }
      if (body == null) {
        throw new SkException(0, "ssh-sk-helper closed without a reply" + helperSaid(stderr));
      }
      return parseReply(body);
    } catch (IOException e) {
      throw new SkException(0, "ssh-sk-helper failed: " + e.getMessage() + helperSaid(stderr));
    } finally {
      p.destroy();
      if (!p.waitFor(2, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  static byte[] parseReply(byte[] body) throws SkException {
    try {
      SshReader r = new SshReader(body);
      int version = r.readByte();
      if (version != VERSION) {
        throw new SkException(0, "ssh-sk-helper speaks version " + version + ", keymux " + VERSION);
      }
      long type = r.readUint32();
      if (type == MSG_ERROR) {
        long code = r.readUint32();
        throw new SkException(code == 0 || code >= Integer.MAX_VALUE ? 0 : -(int) code, describe(-(int) code));
      }
      if (type != MSG_SIGN) {
        throw new SkException(0, "ssh-sk-helper answered message type " + type);
      }
      byte[] signature = r.readString();
      r.expectEnd("ssh-sk-helper reply");
      return signature;
    } catch (ProtocolException e) {
      throw new SkException(0, "malformed ssh-sk-helper reply: " + e.getMessage());
    }
  }

  private static String describe(int code) {
    return switch (code) {
      case ERR_WRONG_PIN -> "the security key wants its PIN (or the PIN was wrong)";
      case ERR_DEVICE_NOT_FOUND -> "no security key found (is it plugged in?)";
      default -> "the security key refused to sign (OpenSSH error " + code + ")";
    };
  }

  /** One framed message: uint32 length, then that many bytes (the version byte first); null at EOF. */
  private static byte[] readFrame(InputStream in) {
    try {
      byte[] len = in.readNBytes(4);
      if (len.length < 4) {
        return null;
      }
      int n = ((len[0] & 0xff) << 24) | ((len[1] & 0xff) << 16) | ((len[2] & 0xff) << 8) | (len[3] & 0xff);
      if (n <= 0 || n > MAX_REPLY) {
        throw new IllegalStateException("reply of " + n + " bytes");
      }
      byte[] body = in.readNBytes(n);
      if (body.length < n) {
        return null;
      }
      return body;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String helperSaid(CompletableFuture<String> stderr) {
    try {
      String s = stderr.get(1, TimeUnit.SECONDS).strip();
      return s.isEmpty() ? "" : " (" + s.lines().reduce((a, b) -> b).orElse("") + ")";
    } catch (Exception e) {
      return "";
    }
  }

  private static String drain(InputStream in) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      for (int n; (n = in.read(buf)) > 0; ) {
        if (out.size() < 16 * 1024) {
          out.write(buf, 0, n);
        }
      }
      return out.toString(StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
