package dev.keymux.backend.pkcs11;

import static dev.keymux.backend.pkcs11.TestTokens.PIN;
import static dev.keymux.backend.pkcs11.TestTokens.backend;
import static dev.keymux.backend.pkcs11.TestTokens.counting;
import static dev.keymux.backend.pkcs11.TestTokens.onlyKey;
import static dev.keymux.backend.pkcs11.TestTokens.signs;
import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.prompt.Prompts;
import dev.keymux.core.prompt.SecretStore;
import dev.keymux.testing.Askpass;
import dev.keymux.testing.Proc;
import dev.keymux.testing.SoftHsm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Pkcs11Backend} against real SoftHSM2 tokens, in process. */
class Pkcs11BackendTest {
  @TempDir Path tmp;

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

  /** Calls list every 100 ms until {@code done} holds for its answer; returns how long that took. */
  private static long listUntil(Pkcs11Backend b, java.util.function.Predicate<List<Identity>> done, long maxMillis)
      throws InterruptedException {
    long t0 = System.currentTimeMillis();
    while (!done.test(b.list(Session.local()))) {
      assertTrue(System.currentTimeMillis() - t0 < maxMillis, () -> "list did not change within " + maxMillis + " ms: "
          + b.list(Session.local()));
      Thread.sleep(100);
    }
    return System.currentTimeMillis() - t0;
  }

  @Test
  void listDropsADeletedTokensKeysWithoutASignatureFailingFirst() throws Exception {
    TestTokens t = TestTokens.create();
    String one = t.token("one");
    try (Pkcs11Backend b = backend("b", one, counting(PIN, new AtomicInteger()))) {
      signs(b, onlyKey(b)); // logged in: a deleted token then still shows a session, without objects
      t.deleteToken(one);
      listUntil(b, List::isEmpty, 2500);
      assertFalse(b.health().up(), b.health().toString());
    }
  }

  @Test
  void listShowsAKeyGeneratedOnAPresentTokenAndItSigns() throws Exception {
    TestTokens t = TestTokens.create();
    String one = t.token("one");
    try (Pkcs11Backend b = backend("b", one, counting(PIN, new AtomicInteger()))) {
      signs(b, onlyKey(b));
      t.hsm.generate(one, PIN, "EC:edwards25519", "02", "added-later");
      listUntil(b, ids -> ids.size() == 2, 2500);
      KeyBlob added = b.list(Session.local()).stream().filter(i -> i.comment().equals("added-later")).findFirst()
          .orElseThrow().key();
      assertEquals("ssh-ed25519", added.type());
      signs(b, added);
    }
  }

  @Test
  void listIsServedFromTheCacheWhileASignatureWaitsForThePin() throws Exception {
    TestTokens t = TestTokens.create();
    String one = t.token("one");
    java.util.concurrent.CountDownLatch asked = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch answer = new java.util.concurrent.CountDownLatch(1);
    PinSource slowUser = (label, hint, session) -> {
      asked.countDown();
      answer.await();
      return java.util.Optional.of(PIN.toCharArray());
    };
    try (Pkcs11Backend b = backend("b", one, slowUser)) {
      KeyBlob key = onlyKey(b);
      AtomicReference<Throwable> failure = new AtomicReference<>();
      Thread signer = new Thread(() -> {
        try {
          signs(b, key);
        } catch (Throwable e) {
          failure.set(e);
        }
      });
      signer.start();
      assertTrue(asked.await(10, java.util.concurrent.TimeUnit.SECONDS));
      long t0 = System.nanoTime();
      for (int i = 0; i < 5; i++) { // spans more than one check interval
        assertEquals(List.of(key), b.list(Session.local()).stream().map(Identity::key).toList());
        Thread.sleep(Pkcs11Backend.CHECK_MILLIS / 2);
      }
      assertTrue(System.nanoTime() - t0 < java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(5 * Pkcs11Backend.CHECK_MILLIS),
          "list did not wait for the signature");
      answer.countDown();
      signer.join();
      assertNull(failure.get());
    }
  }

  /** Logs in with the right PIN from outside keymux, which resets SoftHSM's "user PIN count low". */
  private static void rightPinFromOutside(TestTokens t, String token) {
    Proc.run(TestTokens.T, t.hsm.env(), "/usr/bin/pkcs11-tool", "--module", SoftHsm.MODULE, "--token-label", token, "--login",
        "--pin", PIN, "--list-objects").assertOk();
    assertFalse(t.flags(token).contains("user PIN count low"), t.flags(token));
  }

  @Test
  void aWrongPinFromTheEnvironmentIsSentOnceNotOnEverySignature() throws Exception {
    TestTokens t = TestTokens.create();
    String one = t.token("one");
    PinSource env = PinSource.of("env:HSM_PIN", Map.of("HSM_PIN", "000000"), Prompts.askpassOnly(Map.of(), Duration.ofSeconds(5)),
        Optional.empty());
    try (Pkcs11Backend b = backend("b", one, env)) {
      KeyBlob key = onlyKey(b);
      AgentException first = assertThrows(AgentException.class, () -> signs(b, key));
      assertTrue(first.getMessage().contains("wrong PIN") && first.getMessage().contains("environment variable HSM_PIN"),
          first.getMessage());
      assertTrue(t.flags(one).contains("user PIN count low"), "the token counted the wrong PIN: " + t.flags(one));
      rightPinFromOutside(t, one);
      for (int i = 0; i < 5; i++) {
        AgentException again = assertThrows(AgentException.class, () -> signs(b, key));
        assertTrue(again.getMessage().contains("environment variable HSM_PIN") && again.getMessage().contains("restart"),
            again.getMessage());
      }
      assertFalse(t.flags(one).contains("user PIN count low"), "the wrong PIN was not sent again: " + t.flags(one));
    }
  }

  @Test
  void aWrongPinFileIsNotSentAgainUntilTheFileChanges() throws Exception {
    TestTokens t = TestTokens.create();
    String one = t.token("one");
    Path file = tmp.resolve("pin");
    Files.writeString(file, "000000\n");
    Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    PinSource pins = PinSource.of("file:" + file, Map.of(), Prompts.askpassOnly(Map.of(), Duration.ofSeconds(5)), Optional.empty());
    try (Pkcs11Backend b = backend("b", one, pins)) {
      KeyBlob key = onlyKey(b);
      assertThrows(AgentException.class, () -> signs(b, key));
      rightPinFromOutside(t, one);
      AgentException again = assertThrows(AgentException.class, () -> signs(b, key));
      assertTrue(again.getMessage().contains("file " + file) && again.getMessage().contains("until the file changes"),
          again.getMessage());
      assertFalse(t.flags(one).contains("user PIN count low"), "the wrong PIN was not sent again: " + t.flags(one));
      Files.writeString(file, PIN + "\n");
      signs(b, key);
    }
  }

  @Test
  void aWrongPinInTheSecretServiceIsSkippedUntilTheEntryChanges() throws Exception {
    TestTokens t = TestTokens.create();
    String one = t.token("one");
    Map<Map<String, String>, byte[]> entries = new java.util.concurrent.ConcurrentHashMap<>();
    entries.put(Map.of(PinSource.KEYRING_ATTRIBUTE, one), "000000".getBytes());
    SecretStore store = new SecretStore() { // stands in for the desktop's store; the token is real
      @Override public Optional<byte[]> find(Map<String, String> attributes) {
        return Optional.ofNullable(entries.get(attributes)).map(byte[]::clone);
      }
      @Override public boolean reachable() { return true; }
      @Override public boolean store(String label, Map<String, String> attributes, byte[] secret) { return false; }
    };
    Path log = tmp.resolve("asked.log");
    Path askpass = Askpass.recording(log.getParent(), PIN, log);
    PinSource pins = PinSource.of("keyring", Map.of(), Prompts.askpassOnly(
        Map.of("SSH_ASKPASS", askpass.toString(), "SSH_ASKPASS_REQUIRE", "force"), Duration.ofSeconds(10)), Optional.of(store));
    try (Pkcs11Backend b = backend("b", one, pins)) {
      KeyBlob key = onlyKey(b);
      AgentException first = assertThrows(AgentException.class, () -> signs(b, key));
      assertTrue(first.getMessage().contains("the Secret Service"), first.getMessage());
      assertFalse(Files.exists(log), "the stored PIN was tried, nobody asked");
      signs(b, key); // the refused entry is skipped: askpass asks, and its PIN is right
      assertEquals(1, Files.readAllLines(log).stream().filter(l -> l.startsWith("prompt=Enter PIN")).count());
    }
  }

  @Test
  void aLoginEndedByAnotherBackendOfTheSameTokenIsRenewed() throws Exception {
    TestTokens t = TestTokens.create();
    String one = t.token("one");
    AtomicInteger askedY = new AtomicInteger();
    try (Pkcs11Backend x = backend("x", one, counting(PIN, new AtomicInteger()));
        Pkcs11Backend y = backend("y", one, counting(PIN, askedY))) {
      KeyBlob key = onlyKey(x);
      assertEquals(key, onlyKey(y));
      signs(x, key);
      signs(y, key); // rides on x's login: PKCS#11 logins belong to the process
      assertEquals(0, askedY.get(), "y used x's login");
      x.onLock(); // logs x out, and with it the whole token in this process
      signs(y, key);
      assertEquals(1, askedY.get(), "y logged in again");
      signs(x, key);
    }
  }

  @Test
  void afterAWrongAskpassPinTheNextPromptSaysFewTriesAreLeft() throws Exception {
    TestTokens t = TestTokens.create();
    String one = t.token("one");
    Path bin = tmp;
    Path log = bin.resolve("asked.log");
    Path askpass = bin.resolve("askpass");
    // Answers a wrong PIN the first time, the right one after.
    Files.writeString(askpass, "#!/bin/sh\nprintf 'prompt=%s\\n' \"$1\" >> '" + log + "'\n"
        + "if [ -e '" + bin.resolve("once") + "' ]; then echo " + PIN + "; else : > '" + bin.resolve("once") + "'; echo 000000; fi\n");
    Files.setPosixFilePermissions(askpass, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    PinSource pins = PinSource.of("askpass", Map.of(), Prompts.askpassOnly(
        Map.of("SSH_ASKPASS", askpass.toString(), "SSH_ASKPASS_REQUIRE", "force"), Duration.ofSeconds(10)), Optional.empty());
    try (Pkcs11Backend b = backend("b", one, pins)) {
      KeyBlob key = onlyKey(b);
      AgentException wrong = assertThrows(AgentException.class, () -> signs(b, key));
      assertTrue(wrong.getMessage().contains("wrong PIN") && wrong.getMessage().contains("the PIN prompt"), wrong.getMessage());
      signs(b, key);
      assertEquals(List.of("prompt=Enter PIN for '" + one + "': ", "prompt=Enter PIN for '" + one + "' (few tries left): "),
          Files.readAllLines(log));
      assertFalse(t.flags(one).contains("user PIN count low"), "the right PIN reset the count: " + t.flags(one));
    }
  }

  @Test
  void anUnexpectedErrorWhileLookingForTheTokenDoesNotEscapeList() {
    // A NUL in the module path makes Path.of throw InvalidPathException, a RuntimeException.
    Pkcs11Settings bad = new Pkcs11Settings("/usr/lib/\0softhsm.so", "", "askpass", List.of(), Duration.ZERO);
    try (Pkcs11Backend b = new Pkcs11Backend("bad", bad, (label, hint, session) -> Optional.empty(), true)) {
      assertEquals(List.of(), b.list(Session.local()));
      assertFalse(b.health().up());
      assertTrue(b.health().detail().contains("looking at the token failed"), b.health().detail());
    }
  }

  @Test
  void rsaSignatureAlgorithmFollowsTheFlagsAsOpenSshDoes() throws Exception {
    TestTokens t = TestTokens.create();
    try (Pkcs11Backend b = backend("rsa", t.rsaToken("rsa"), counting(PIN, new AtomicInteger()))) {
      KeyBlob key = onlyKey(b);
      byte[] data = "flags".getBytes();
      java.util.Map<Integer, String> expected = java.util.Map.of(0, "ssh-rsa",
          dev.keymux.core.wire.AgentProtocol.SSH_AGENT_RSA_SHA2_256, "rsa-sha2-256",
          dev.keymux.core.wire.AgentProtocol.SSH_AGENT_RSA_SHA2_512, "rsa-sha2-512",
          dev.keymux.core.wire.AgentProtocol.SSH_AGENT_RSA_SHA2_256 | dev.keymux.core.wire.AgentProtocol.SSH_AGENT_RSA_SHA2_512,
          "rsa-sha2-256");
      for (var e : expected.entrySet()) {
        byte[] sig = b.sign(dev.keymux.core.agent.Session.local(), key, data, e.getKey());
        assertEquals(e.getValue(), new dev.keymux.core.wire.SshReader(sig).readUtf8(), "flags " + e.getKey());
        assertTrue(dev.keymux.core.keys.SshSignatures.verify(key.bytes(), sig, data), "flags " + e.getKey());
      }
    }
  }
}
