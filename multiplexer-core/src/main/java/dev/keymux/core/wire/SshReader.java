package dev.keymux.core.wire;

import java.math.BigInteger;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Reads the RFC 4251 §5 data types from one message body. Every read is bounds-checked against
 * the body, so a hostile length can never allocate more than the (already capped) frame.
 */
public final class SshReader {
  private final byte[] buf;
  private final int end;
  private int pos;

  public SshReader(byte[] buf) {
    this(buf, 0, buf.length);
  }

  public SshReader(byte[] buf, int offset, int length) {
    this.buf = buf;
    this.pos = offset;
    this.end = offset + length;
  }

  /** The underlying array; callers slice it by {@link #position()}, never modify it. */
  byte[] buffer() {
    return buf;
  }

  public int remaining() {
    return end - pos;
  }

  public int position() {
    return pos;
  }

  public boolean hasRemaining() {
    return pos < end;
  }

  private void need(int n, String what) throws ProtocolException {
    if (n < 0 || n > end - pos) {
      throw new ProtocolException("truncated " + what + ": need " + n + " bytes, " + (end - pos) + " left");
    }
  }

  public int readByte() throws ProtocolException {
    need(1, "byte");
    return buf[pos++] & 0xff;
  }

  public boolean readBoolean() throws ProtocolException {
    return readByte() != 0;
  }

  /** uint32 as a Java long (values above 2^31 stay positive). */
  public long readUint32() throws ProtocolException {
    need(4, "uint32");
    long v = ((buf[pos] & 0xffL) << 24) | ((buf[pos + 1] & 0xffL) << 16)
        | ((buf[pos + 2] & 0xffL) << 8) | (buf[pos + 3] & 0xffL);
    pos += 4;
    return v;
  }

  /** uint32 that is used as a length or count and therefore must fit the remaining body. */
  public int readLength() throws ProtocolException {
    long v = readUint32();
    if (v > end - pos) {
      throw new ProtocolException("length " + v + " exceeds the " + (end - pos) + " bytes left");
    }
    return (int) v;
  }

  public byte[] readBytes(int n) throws ProtocolException {
    need(n, "bytes");
    byte[] out = Arrays.copyOfRange(buf, pos, pos + n);
    pos += n;
    return out;
  }

  /** An SSH {@code string} as raw bytes. */
  public byte[] readString() throws ProtocolException {
    return readBytes(readLength());
  }

  /**
   * Steps over one SSH {@code string} without copying it: for fields that may be secret (private
   * key parts) and are not needed, so no copy is left behind to wipe.
   */
  public void skipString() throws ProtocolException {
    int n = readLength();
    pos += n;
  }

  /** An SSH {@code string} that must be valid UTF-8 text (names, comments). */
  public String readUtf8() throws ProtocolException {
    byte[] raw = readString();
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(raw))
          .toString();
    } catch (CharacterCodingException e) {
      throw new ProtocolException("string is not valid UTF-8");
    }
  }

  /**
   * An SSH {@code mpint} (two's complement, big-endian), converted straight from the message
   * buffer: an mpint may be a private key part (RSA d, p, q; ECDSA d), so no intermediate copy is
   * made that would stay unwiped.
   */
  public BigInteger readMpint() throws ProtocolException {
    int n = readLength();
    BigInteger v = n == 0 ? BigInteger.ZERO : new BigInteger(buf, pos, n);
    pos += n;
    return v;
  }

  /** Skips one {@code string} and returns the bytes it spanned, length prefix included. */
  public byte[] readStringRaw() throws ProtocolException {
    int start = pos;
    int n = readLength();
    need(n, "string");
    pos += n;
    return Arrays.copyOfRange(buf, start, pos);
  }

  public byte[] readRest() {
    byte[] out = Arrays.copyOfRange(buf, pos, end);
    pos = end;
    return out;
  }

  /** Fails when bytes are left over: trailing garbage is a protocol error, not ignorable. */
  public void expectEnd(String what) throws ProtocolException {
    if (pos != end) {
      throw new ProtocolException((end - pos) + " trailing bytes after " + what);
    }
  }
}
