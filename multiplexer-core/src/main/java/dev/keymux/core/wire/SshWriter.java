package dev.keymux.core.wire;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;

/** Writes the RFC 4251 §5 data types. */
public final class SshWriter {
  private final ByteArrayOutputStream out;

  public SshWriter() {
    this(64);
  }

  public SshWriter(int initialCapacity) {
    out = new ByteArrayOutputStream(initialCapacity);
  }

  public SshWriter writeByte(int b) {
    out.write(b);
    return this;
  }

  public SshWriter writeBoolean(boolean b) {
    return writeByte(b ? 1 : 0);
  }

  public SshWriter writeUint32(long v) {
    out.write((int) (v >>> 24));
    out.write((int) (v >>> 16));
    out.write((int) (v >>> 8));
    out.write((int) v);
    return this;
  }

  public SshWriter writeRaw(byte[] b) {
    out.write(b, 0, b.length);
    return this;
  }

  public SshWriter writeString(byte[] b) {
    writeUint32(b.length);
    return writeRaw(b);
  }

  public SshWriter writeString(String s) {
    return writeString(s.getBytes(StandardCharsets.UTF_8));
  }

  public SshWriter writeMpint(BigInteger v) {
    return writeString(v.signum() == 0 ? new byte[0] : v.toByteArray());
  }

  public int size() {
    return out.size();
  }

  public byte[] toByteArray() {
    return out.toByteArray();
  }
}
