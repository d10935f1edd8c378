package dev.keymux.backend.pkcs11;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keys.SshSignatures;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.SoftHsm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Real SoftHSM2 tokens for the tests of this module. SoftHSM reads {@code SOFTHSM2_CONF} once, at
 * C_Initialize, and keymux loads a library once per process, so all tests of a JVM share one
 * token directory (surefire sets the variable); each test gets tokens with labels of its own.
 */
final class TestTokens {
  static final String PIN = "123456";
  static final Duration T = Duration.ofSeconds(60);
  private static final AtomicInteger SERIAL = new AtomicInteger();

  final SoftHsm hsm;
  private final String prefix = "t" + SERIAL.incrementAndGet() + "-";

  private TestTokens(SoftHsm hsm) {
    this.hsm = hsm;
  }

  static TestTokens create() throws Exception {
    RealComponents.require("softhsm", SoftHsm.available(), "apt-get install softhsm2 opensc");
    String conf = System.getenv("SOFTHSM2_CONF");
    assertNotNull(conf, "surefire sets SOFTHSM2_CONF for this module's tests");
    Path dir = Path.of(conf).getParent();
    Path tokens = dir.resolve("tokens");
    if (Files.isDirectory(tokens)) {
      try (Stream<Path> all = Files.walk(tokens)) { // tokens of earlier tests
        all.sorted(Comparator.reverseOrder()).filter(p -> !p.equals(tokens)).forEach(TestTokens::delete);
      }
    }
    return new TestTokens(SoftHsm.create(dir));
  }

  private static void delete(Path p) {
    try {
      Files.delete(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A token label unique to this test. */
  String label(String name) {
    return prefix + name;
  }

  /** Creates token {@code name} with one P-256 key labelled {@code name + "-key"}; returns its label. */
  String token(String name) {
    String label = label(name);
    hsm.initToken(label, PIN);
    hsm.generate(label, PIN, "EC:prime256v1", "01", name + "-key");
    return label;
  }

  /** Creates token {@code name} with one RSA-2048 key labelled {@code name + "-rsa"}; returns its label. */
  String rsaToken(String name) {
    String label = label(name);
    hsm.initToken(label, PIN);
    hsm.generate(label, PIN, "rsa:2048", "02", name + "-rsa");
    return label;
  }

  void deleteToken(String label) {
    hsm.deleteToken(label);
  }

  /** The token's flags as OpenSC's pkcs11-tool reads them from outside keymux's process. */
  String flags(String label) {
    String out = Proc.run(T, hsm.env(), "/usr/bin/pkcs11-tool", "--module", SoftHsm.MODULE, "--list-token-slots").assertOk().stdout();
    String[] slots = out.split("\nSlot ");
    for (String slot : slots) {
      if (slot.contains("token label        : " + label + "\n")) {
        return slot.lines().filter(l -> l.contains("token flags")).findFirst().orElse("");
      }
    }
    return fail("token " + label + " not listed:\n" + out);
  }

  /** A PIN source that always answers {@code pin} and counts how often it was asked. */
  static PinSource counting(String pin, AtomicInteger asked) {
    return (label, hint, session) -> {
      asked.incrementAndGet();
      return Optional.of(pin.toCharArray());
    };
  }

  static Pkcs11Backend backend(String name, String token, PinSource pins) {
    return new Pkcs11Backend(name, new Pkcs11Settings(SoftHsm.MODULE, token, "askpass", List.of(), Duration.ZERO), pins, true);
  }

  /** Signs with {@code key} and checks the signature verifies. */
  static void signs(Pkcs11Backend b, KeyBlob key) throws AgentException {
    byte[] data = ("data " + System.nanoTime()).getBytes();
    byte[] sig = b.sign(Session.local(), key, data, AgentProtocol.SSH_AGENT_RSA_SHA2_256);
    assertTrue(SshSignatures.verify(key.bytes(), sig, data), "the token's signature verifies");
  }

  static KeyBlob onlyKey(Pkcs11Backend b) {
    List<Identity> ids = b.list(Session.local());
    assertEquals(1, ids.size(), ids.toString());
    return ids.get(0).key();
  }
}
