package dev.keymux.core.wire;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import org.junit.jupiter.api.Test;

class FrameIOTest {
  private static ByteArrayInputStream stream(byte[] b) {
    return new ByteArrayInputStream(b);
  }

  @Test
  void roundTrip() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    FrameIO.writeFrame(out, new byte[] {11});
    FrameIO.writeFrame(out, new byte[] {13, 1, 2});
    ByteArrayInputStream in = stream(out.toByteArray());
    assertArrayEquals(new byte[] {11}, FrameIO.readFrame(in));
    assertArrayEquals(new byte[] {13, 1, 2}, FrameIO.readFrame(in));
    assertNull(FrameIO.readFrame(in));
  }

  @Test
  void zeroLengthClosesTheConnection() {
    assertThrows(FrameIO.FrameException.class, () -> FrameIO.readFrame(stream(new byte[] {0, 0, 0, 0})));
  }

  @Test
  void oversizedFrameClosesTheConnectionWithoutReadingIt() {
    int n = AgentProtocol.MAX_MESSAGE_LENGTH + 1;
    byte[] header = {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n};
    assertThrows(FrameIO.FrameException.class, () -> FrameIO.readFrame(stream(header)));
    assertThrows(FrameIO.FrameException.class, () -> FrameIO.readFrame(stream(new byte[] {(byte) 0xff, 0, 0, 0})));
  }

  @Test
  void exactlyTheLimitIsAccepted() throws Exception {
    int n = AgentProtocol.MAX_MESSAGE_LENGTH;
    byte[] frame = new byte[4 + n];
    frame[1] = (byte) (n >>> 16);
    frame[2] = (byte) (n >>> 8);
    frame[3] = (byte) n;
    assertEquals(n, FrameIO.readFrame(stream(frame)).length);
  }

  @Test
  void truncatedFramesAreEof() {
    assertThrows(EOFException.class, () -> FrameIO.readFrame(stream(new byte[] {0, 0})));
    assertThrows(EOFException.class, () -> FrameIO.readFrame(stream(new byte[] {0, 0, 0, 5, 11})));
  }
}
