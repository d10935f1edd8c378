package dev.keymux.backend.pkcs11;

import static dev.keymux.backend.pkcs11.TestTokens.PIN;
import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.ProviderAllowlist;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keyring.KeyringDefaults;
import dev.keymux.core.prompt.Prompts;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.keys.SshSignatures;
import dev.keymux.core.wire.AgentRequest.AddSmartcardKey;
import dev.keymux.core.wire.KeyConstraint;
import dev.keymux.testing.SoftHsm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokens loaded with ssh-add -s ({@link Pkcs11ProvidersBackend}) on real SoftHSM2 tokens, in process. */
class Pkcs11ProvidersBackendTest {
  @TempDir Path dir;

  private static AddSmartcardKey add(String pin, List<KeyConstraint> constraints) {
    return new AddSmartcardKey(SoftHsm.MODULE, pin.getBytes(), constraints);
  }

  /** Nobody to ask (no askpass can run): a confirmation would refuse the signature. */
  private static Pkcs11ProvidersBackend providers() {
    return providers(Map.of());
  }

  private static Pkcs11ProvidersBackend providers(Map<String, String> askpassEnv) {
    KeyringDefaults defaults = new KeyringDefaults(Duration.ZERO, Duration.ofSeconds(5), askpassEnv);
    return new Pkcs11ProvidersBackend("tokens", new ProviderAllowlist(List.of("/usr/lib/*")), defaults,
        Prompts.askpassOnly(askpassEnv, Duration.ofSeconds(5)), Clock.systemUTC());
  }

  private static void signs(Pkcs11ProvidersBackend p, KeyBlob key) throws AgentException {
    byte[] data = ("data " + System.nanoTime()).getBytes();
    assertTrue(SshSignatures.verify(key.bytes(), p.sign(Session.local(), key, data, 0), data));
  }

  @Test
  void aConnectionThatSentAnySessionBindMayNotLoadAProvider() throws Exception {
    TestTokens t = TestTokens.create();
    t.token("one");
    try (Pkcs11ProvidersBackend p = providers()) {
      Session bound = Session.local();
      bound.markBindAttempted(); // as SessionBinder does first, for any session-bind, even a refused one
      AgentException e = assertThrows(AgentException.class, () -> p.addSmartcard(bound, add(PIN, List.of())));
      assertTrue(e.getMessage().contains("session-bind seen"), e.getMessage());
      assertEquals(List.of(), p.list(Session.local()));

      p.addSmartcard(Session.local(), add(PIN, List.of()));
      assertEquals(1, p.list(Session.local()).size());
    }
  }

  @Test
  void aLifetimeGivenWithSshAddDashTRemovesTheTokensKeysWhenItEnds() throws Exception {
    TestTokens t = TestTokens.create();
    t.token("one");
    try (Pkcs11ProvidersBackend p = providers()) {
      assertEquals(Optional.of(List.of()), p.listAtOnce(Session.local()), "no provider: nothing to ask");
      p.addSmartcard(Session.local(), add(PIN, List.of(new KeyConstraint.Lifetime(2))));
      assertEquals(Optional.empty(), p.listAtOnce(Session.local()), "a token is asked on a pool thread");
      KeyBlob key = p.list(Session.local()).get(0).key();
      signs(p, key);
      assertTrue(p.keyState(key).contains("removed in"), p.keyState(key));
      Thread.sleep(2500);
      assertEquals(List.of(), p.list(Session.local()));
      assertThrows(AgentException.class, () -> signs(p, key));
      p.addSmartcard(Session.local(), add(PIN, List.of())); // removed: may be added again
    }
  }

  @Test
  void confirmGivenWithSshAddDashCAsksBeforeEverySignature() throws Exception {
    TestTokens t = TestTokens.create();
    t.token("one");
    // An askpass that records each question and answers what the answer file says.
    Path log = dir.resolve("asked.log");
    Path answer = dir.resolve("answer");
    Files.writeString(answer, "no");
    Path askpass = dir.resolve("askpass");
    Files.writeString(askpass, "#!/bin/sh\nprintf '%s\\n---\\n' \"$1\" >> '" + log + "'\n"
        + "[ \"$(cat '" + answer + "')\" = yes ] && echo yes || exit 1\n");
    Files.setPosixFilePermissions(askpass, PosixFilePermissions.fromString("rwx------"));
    try (Pkcs11ProvidersBackend p = providers(dev.keymux.testing.Askpass.env(askpass))) {
      p.addSmartcard(Session.local(), add(PIN, List.of(new KeyConstraint.Confirm())));
      KeyBlob key = p.list(Session.local()).get(0).key();
      AgentException no = assertThrows(AgentException.class, () -> signs(p, key));
      assertTrue(no.getMessage().contains("not confirmed"), no.getMessage());
      Files.writeString(answer, "yes");
      signs(p, key);
      signs(p, key);
      List<String> questions = List.of(Files.readString(log).split("---\n"));
      assertEquals(3, questions.size(), questions.toString());
      assertTrue(questions.get(0).contains("one-key") && questions.get(0).contains(Fingerprints.sha256(key.bytes())),
          questions.get(0));
      assertTrue(questions.get(0).contains("Requested by " + ProcessHandle.current().info().command().orElseThrow()),
          "the question names the client, as every confirm prompt does: " + questions.get(0));
    }
  }

  @Test
  void aConstraintThatCannotBeHonouredAddsNothing() throws Exception {
    TestTokens t = TestTokens.create();
    t.token("one");
    try (Pkcs11ProvidersBackend p = providers()) {
      AgentException e = assertThrows(AgentException.class,
          () -> p.addSmartcard(Session.local(), add(PIN, List.of(new KeyConstraint.RestrictDestination(List.of())))));
      assertTrue(e.getMessage().contains("restrict-destination"), e.getMessage());
      assertEquals(List.of(), p.list(Session.local()));
    }
  }

  @Test
  void twoConcurrentAddsOfOneLibraryLoadItOnce() throws Exception {
    TestTokens t = TestTokens.create();
    t.token("one");
    try (Pkcs11ProvidersBackend p = providers()) {
      java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
      List<Object> outcomes = new java.util.concurrent.CopyOnWriteArrayList<>();
      List<Thread> threads = new java.util.ArrayList<>();
      for (int i = 0; i < 2; i++) {
        Thread th = new Thread(() -> {
          try {
            start.await();
            p.addSmartcard(Session.local(), add(PIN, List.of()));
            outcomes.add("added");
          } catch (Exception e) {
            outcomes.add(e);
          }
        });
        th.start();
        threads.add(th);
      }
      for (Thread th : threads) {
        th.join();
      }
      assertEquals(1, outcomes.stream().filter("added"::equals).count(), outcomes.toString());
      AgentException refused = (AgentException) outcomes.stream().filter(o -> o instanceof AgentException).findFirst().orElseThrow();
      assertTrue(refused.getMessage().contains("already added"), refused.getMessage());
      assertEquals(1, p.list(Session.local()).size());
    }
  }

  @Test
  void aTokenKeymuxIsLoggedInToAlreadyIsNotTakenAsProofOfTheSentPin() throws Exception {
    TestTokens t = TestTokens.create();
    String one = t.token("one");
    try (Pkcs11Backend configured = TestTokens.backend("configured", one, TestTokens.counting(PIN, new AtomicInteger()));
        Pkcs11ProvidersBackend p = providers()) {
      TestTokens.signs(configured, TestTokens.onlyKey(configured));
      // C_Login would answer CKR_USER_ALREADY_LOGGED_IN to any PIN.
      AgentException e = assertThrows(AgentException.class, () -> p.addSmartcard(Session.local(), add("999999", List.of())));
      assertTrue(e.getMessage().contains("already logged in"), e.getMessage());
      assertEquals(List.of(), p.list(Session.local()));
      TestTokens.signs(configured, TestTokens.onlyKey(configured));
    }
  }
}
