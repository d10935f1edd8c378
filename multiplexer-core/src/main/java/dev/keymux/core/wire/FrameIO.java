package dev.keymux.core.wire;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Length-prefixed frames (RFC 9987 §3: uint32 length, then that many bytes). A length of zero or
 * above {@link AgentProtocol#MAX_MESSAGE_LENGTH} is a {@link FrameException}: the peer is not
 * speaking the protocol and the connection is closed rather than answered.
 */
public final class FrameIO {
  private FrameIO() {}

  /** Thrown for a frame whose length makes the stream unusable. */
  public static final class FrameException extends IOException {
    public FrameException(String message) {
      super(message);
    }
  }

  /** Reads one frame body; {@code null} on a clean end of stream between frames. */
  public static byte[] readFrame(InputStream in) throws IOException {
    byte[] header = in.readNBytes(4);
    if (header.length == 0) {
      return null;
    }
    if (header.length < 4) {
      throw new EOFException("stream ended inside a frame header");
    }
    long length = ((header[0] & 0xffL) << 24) | ((header[1] & 0xffL) << 16) | ((header[2] & 0xffL) << 8) | (header[3] & 0xffL);
    if (length == 0 || length > AgentProtocol.MAX_MESSAGE_LENGTH) {
      throw new FrameException("frame length " + length + " outside 1.." + AgentProtocol.MAX_MESSAGE_LENGTH);
    }
    byte[] body = in.readNBytes((int) length);
    if (body.length < length) {
      throw new EOFException("stream ended inside a frame (" + body.length + " of " + length + " bytes)");
    }
    return body;
  }

  /** Writes one frame in a single write call, so concurrent writers can never interleave. */
  public static void writeFrame(OutputStream out, byte[] body) throws IOException {
    if (body.length > AgentProtocol.MAX_MESSAGE_LENGTH) {
      throw new FrameException("refusing to send a " + body.length + "-byte frame");
    }
    byte[] frame = new byte[4 + body.length];
    frame[0] = (byte) (body.length >>> 24);
    frame[1] = (byte) (body.length >>> 16);
    frame[2] = (byte) (body.length >>> 8);
    frame[3] = (byte) body.length;
    System.arraycopy(body, 0, frame, 4, body.length);
    out.write(frame);
    out.flush();
  }
}
