package dev.keymux.core.agent;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SessionTest {
  @Test
  void attachmentsCloseWithTheSessionAndLateOnesCloseAtOnce() {
    Session s = Session.local();
    AtomicInteger closed = new AtomicInteger();
    Object key = new Object();
    AutoCloseable first = s.attachment(key, k -> closed::incrementAndGet);
    assertSame(first, s.attachment(key, k -> fail("created once per session")));
    s.close();
    assertEquals(1, closed.get());
    // A backend thread that outlived the connection: what it attaches is not left open.
    s.attachment(new Object(), k -> closed::incrementAndGet);
    assertEquals(2, closed.get());
  }
}
