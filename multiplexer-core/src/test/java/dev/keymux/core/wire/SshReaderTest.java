package dev.keymux.core.wire;

import static org.junit.jupiter.api.Assertions.*;

import java.math.BigInteger;
import org.junit.jupiter.api.Test;

class SshReaderTest {
  @Test
  void skipStringStepsOverOneStringAndIsBoundsChecked() throws Exception {
    byte[] body = new SshWriter().writeString(new byte[] {1, 2, 3}).writeString("next").toByteArray();
    SshReader r = new SshReader(body);
    r.skipString();
    assertEquals(7, r.position());
    assertEquals("next", r.readUtf8());
    r.expectEnd("test");
    assertThrows(ProtocolException.class, () -> new SshReader(new byte[] {0, 0, 0, 5, 1, 2}).skipString());
    assertThrows(ProtocolException.class, () -> new SshReader(new byte[] {0, 0}).skipString());
  }

  @Test
  void mpintsAreReadFromTheBufferInPlaceIncludingInsideASlice() throws Exception {
    BigInteger big = new BigInteger("00ff00ff00ff00ff00ff00ff00ff00ff00ff", 16);
    byte[] mpints = new SshWriter().writeMpint(BigInteger.ZERO).writeMpint(big).writeMpint(BigInteger.valueOf(-129))
        .writeMpint(BigInteger.valueOf(128)).toByteArray();
    // The reader sees only a slice of a larger array, as for a field nested in a message.
    byte[] framed = new byte[mpints.length + 6];
    java.util.Arrays.fill(framed, (byte) 0x7f);
    System.arraycopy(mpints, 0, framed, 3, mpints.length);
    byte[] before = framed.clone();
    SshReader r = new SshReader(framed, 3, mpints.length);
    assertEquals(BigInteger.ZERO, r.readMpint());
    assertEquals(big, r.readMpint());
    assertEquals(BigInteger.valueOf(-129), r.readMpint());
    assertEquals(BigInteger.valueOf(128), r.readMpint());
    r.expectEnd("mpints");
    assertArrayEquals(before, framed, "reading does not change the message");
    assertThrows(ProtocolException.class, () -> new SshReader(new byte[] {0, 0, 0, 9, 1}).readMpint());
  }
}
