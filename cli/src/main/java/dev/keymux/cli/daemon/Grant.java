package dev.keymux.cli.daemon;

import dev.keymux.cli.UserError;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A grant: a scoped socket made at run time for one other uid (root, a service account), offering
 * only the keys its patterns name, removed when it expires. This record is also its form on the
 * wire between {@code keymux grant/grants/revoke} and the running agent (extensions
 * {@value #GRANT}, {@value #GRANTS} and {@value #REVOKE}, answered only on the main socket).
 *
 * <p>Every answer starts with a boolean: true and the payload, or false and one line saying why,
 * so the command can print the agent's reason (a plain SSH_AGENT_FAILURE carries none).
 *
 * @param id short random name, also the socket's name ({@code grant-ID}) in rules and the audit log
 * @param keys the patterns asked for (comment globs or SHA256:/MD5: fingerprints)
 * @param matched the keys the patterns named when the grant was made, as "fingerprint comment"
 */
public record Grant(String id, int uid, List<String> keys, Path socket, Instant expires, boolean confirm,
    List<String> matched) {
  public static final String GRANT = "grant@keymux.dev";
  public static final String GRANTS = "grants@keymux.dev";
  public static final String REVOKE = "revoke@keymux.dev";

  public Grant {
    keys = List.copyOf(keys);
    matched = List.copyOf(matched);
  }

  /** The socket's name in rules, logs and the audit log. */
  String socketName() {
    return "grant-" + id;
  }

  /** What {@code keymux grant} asks for. */
  public record Request(int uid, List<String> keys, Duration lifetime, boolean confirm) {
    public Request {
      keys = List.copyOf(keys);
    }

    public byte[] encode() {
      SshWriter w = new SshWriter().writeUint32(uid & 0xffffffffL).writeUint32(keys.size());
      keys.forEach(w::writeString);
      return w.writeUint32(lifetime.toSeconds()).writeBoolean(confirm).toByteArray();
    }

    static Request decode(byte[] contents) throws ProtocolException {
      SshReader r = new SshReader(contents);
      long uid = r.readUint32();
      List<String> keys = strings(r, 64);
      Duration lifetime = Duration.ofSeconds(r.readUint32());
      boolean confirm = r.readBoolean();
      r.expectEnd("grant request");
      if (uid > Integer.MAX_VALUE) {
        throw new ProtocolException("uid out of range: " + uid);
      }
      return new Request((int) uid, keys, lifetime, confirm);
    }
  }

  void write(SshWriter w) {
    w.writeString(id).writeUint32(uid & 0xffffffffL).writeUint32(keys.size());
    keys.forEach(w::writeString);
    w.writeString(socket.toString()).writeUint32(expires.getEpochSecond()).writeBoolean(confirm).writeUint32(matched.size());
    matched.forEach(w::writeString);
  }

  public static Grant read(SshReader r) throws ProtocolException {
    String id = r.readUtf8();
    int uid = (int) r.readUint32();
    List<String> keys = strings(r, 64);
    Path socket = Path.of(r.readUtf8());
    Instant expires = Instant.ofEpochSecond(r.readUint32());
    boolean confirm = r.readBoolean();
    return new Grant(id, uid, keys, socket, expires, confirm, strings(r, 4096));
  }

  private static List<String> strings(SshReader r, int most) throws ProtocolException {
    long n = r.readUint32();
    if (n > most) {
      throw new ProtocolException("list too long: " + n);
    }
    List<String> out = new ArrayList<>();
    for (long i = 0; i < n; i++) {
      out.add(r.readUtf8());
    }
    return out;
  }

  /** An answer that went well: true, then the payload. */
  static byte[] ok(java.util.function.Consumer<SshWriter> payload) {
    SshWriter w = new SshWriter().writeBoolean(true);
    payload.accept(w);
    return w.toByteArray();
  }

  /** An answer that says no: false and why. */
  static byte[] refused(String why) {
    return new SshWriter().writeBoolean(false).writeString(why).toByteArray();
  }

  /** Opens an answer: its payload, or the agent's reason as a {@link UserError}. */
  public static SshReader opened(byte[] answer) throws ProtocolException {
    SshReader r = new SshReader(answer);
    if (!r.readBoolean()) {
      throw new UserError(r.readUtf8());
    }
    return r;
  }

  public static List<Grant> readAll(SshReader r) throws ProtocolException {
    long n = r.readUint32();
    if (n > 4096) {
      throw new ProtocolException("too many grants: " + n);
    }
    List<Grant> out = new ArrayList<>();
    for (long i = 0; i < n; i++) {
      out.add(read(r));
    }
    return out;
  }
}
