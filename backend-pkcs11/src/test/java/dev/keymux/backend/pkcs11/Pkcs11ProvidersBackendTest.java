package dev.keymux.backend.pkcs11;

import static dev.keymux.backend.pkcs11.TestTokens.PIN;
import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.ProviderAllowlist;
import dev.keymux.core.agent.Session;
import dev.keymux.core.wire.AgentRequest.AddSmartcardKey;
import dev.keymux.core.wire.KeyConstraint;
import dev.keymux.testing.SoftHsm;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tokens loaded with ssh-add -s ({@link Pkcs11ProvidersBackend}) on real SoftHSM2 tokens, in process. */
class Pkcs11ProvidersBackendTest {
  private static AddSmartcardKey add(String pin, List<KeyConstraint> constraints) {
    return new AddSmartcardKey(SoftHsm.MODULE, pin.getBytes(), constraints);
  }

  private static Pkcs11ProvidersBackend providers() {
    return new Pkcs11ProvidersBackend("tokens", new ProviderAllowlist(List.of("/usr/lib/*")));
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
}
