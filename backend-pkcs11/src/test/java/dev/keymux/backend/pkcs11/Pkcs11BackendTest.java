package dev.keymux.backend.pkcs11;

import static dev.keymux.backend.pkcs11.TestTokens.PIN;
import static dev.keymux.backend.pkcs11.TestTokens.backend;
import static dev.keymux.backend.pkcs11.TestTokens.counting;
import static dev.keymux.backend.pkcs11.TestTokens.onlyKey;
import static dev.keymux.backend.pkcs11.TestTokens.signs;
import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** {@link Pkcs11Backend} against real SoftHSM2 tokens, in process. */
class Pkcs11BackendTest {

  @Test
  void aTokenGoingMissingLeavesAnotherTokenOfTheSameLibraryLoggedInAndSigning() throws Exception {
    TestTokens t = TestTokens.create();
    String one = t.token("one");
    String two = t.token("two");
    AtomicInteger askedTwo = new AtomicInteger();
    try (Pkcs11Backend a = backend("a", one, counting(PIN, new AtomicInteger()));
        Pkcs11Backend b = backend("b", two, counting(PIN, askedTwo))) {
      KeyBlob keyA = onlyKey(a);
      KeyBlob keyB = onlyKey(b);
      signs(b, keyB);
      t.deleteToken(one);

      // b signs without pause on another thread while a finds its token gone and looks for it.
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      AtomicInteger signatures = new AtomicInteger();
      Thread signer = new Thread(() -> {
        while (!stop.get()) {
          try {
            signs(b, keyB);
            signatures.incrementAndGet();
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
            return;
          }
        }
      });
      signer.start();
      long end = System.currentTimeMillis() + 6000;
      while (System.currentTimeMillis() < end && failure.get() == null) {
        a.list(Session.local());
        try {
          signs(a, keyA);
          fail("a's token was deleted");
        } catch (AgentException expected) {
          // gone, or withdrawn already
        }
        assertEquals(List.of(keyB), b.list(Session.local()).stream().map(i -> i.key()).toList());
        Thread.sleep(100);
      }
      stop.set(true);
      signer.join();
      assertNull(failure.get(), () -> "b kept signing: " + failure.get());
      assertTrue(signatures.get() > 10, "b signed " + signatures.get() + " times");
      assertEquals(1, askedTwo.get(), "b stayed logged in: its PIN was asked once");
      assertEquals(List.of(), a.list(Session.local()));
      assertFalse(a.health().up(), a.health().toString());
    }
  }
}
