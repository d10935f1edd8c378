package dev.keymux.backend.keyring;

import static org.junit.jupiter.api.Assertions.*;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.connections.impl.DBusConnectionBuilder;
import org.freedesktop.dbus.types.Variant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Secret Service lookups against real session buses: one without the service, one where the
 * service's name is owned but nothing answers, and a real gnome-keyring-daemon, unlocked and
 * locked. Every lookup ends within the deadline and says why in one log line.
 */
class SecretServiceStoreTest {
  static final Duration T = Duration.ofSeconds(30);
  static final Map<String, String> KEY = Map.of("unique", "ssh-store:/home/u/.ssh/id_ed25519");
  /** The deadline plus what a loaded CI machine adds. */
  static final long MAX_MILLIS = SecretServiceStore.DEADLINE.toMillis() + 2000;

  @TempDir Path dir;
  final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  final Logger logger = (Logger) LoggerFactory.getLogger(SecretServiceStore.class);

  @BeforeEach
  void captureLog() {
    logged.start();
    logger.addAppender(logged);
    logger.setLevel(Level.INFO);
  }

  @AfterEach
  void releaseLog() {
    logger.detachAppender(logged);
  }

  private List<String> lines() {
    return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  private static <T> T timed(long[] millis, Supplier<T> call) {
    long t0 = System.nanoTime();
    T r = call.get();
    millis[0] = (System.nanoTime() - t0) / 1_000_000;
    return r;
  }

  @Test
  void withoutASessionBusNothingIsFoundAndOneLineSaysWhy() {
    SecretServiceStore store = new SecretServiceStore(Map.of(), SecretServiceStore.DEADLINE);
    assertEquals(Optional.empty(), store.find(KEY));
    assertEquals(Optional.empty(), store.find(KEY));
    assertFalse(store.reachable());
    assertEquals(1, lines().size(), lines().toString());
    assertTrue(lines().get(0).contains("no session bus"), lines().toString());
  }

  @Test
  void aBusWithoutTheServiceAnswersAtOnce() throws Exception {
    RealComponents.require("dbus", PrivateBus.available(), "apt-get install dbus-daemon");
    try (PrivateBus bus = new PrivateBus(dir)) {
      SecretServiceStore store = new SecretServiceStore(bus.env(), SecretServiceStore.DEADLINE);
      long[] took = {0};
      assertEquals(Optional.empty(), timed(took, () -> store.find(KEY)));
      assertTrue(took[0] < MAX_MILLIS, "took " + took[0] + " ms");
      // The bus said so at once; a timeout would read "no answer within".
      assertTrue(lines().get(0).startsWith("Secret Service not used: unavailable (The name org.freedesktop.secrets was not provided"),
          lines().toString());
      assertEquals(Optional.empty(), store.find(KEY));
      assertFalse(store.reachable());
      byte[] secret = "typed".getBytes(StandardCharsets.UTF_8);
      assertFalse(store.store("label", KEY, secret));
      assertArrayEquals(new byte[5], secret, "the caller's copy is wiped");
      assertEquals(1, lines().size(), "one line for one reason: " + lines());
    }
  }

  /** Owns org.freedesktop.secrets and never answers: every call waits until released. */
  static final class SilentService implements SilentSecretService {
    final CountDownLatch release = new CountDownLatch(1);

    private void hang() {
      try {
        release.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void OpenSession(String algorithm, Variant<?> input) {
      hang();
    }

    @Override
    public void SearchItems(Map<String, String> attributes) {
      hang();
    }

    @Override
    public String getObjectPath() {
      return SecretServiceApi.SERVICE_PATH;
    }
  }

  @Test
  void aServiceThatNeverAnswersIsGivenUpOnWithinTheDeadline() throws Exception {
    RealComponents.require("dbus", PrivateBus.available(), "apt-get install dbus-daemon");
    SilentService silent = new SilentService();
    try (PrivateBus bus = new PrivateBus(dir);
        DBusConnection owner = DBusConnectionBuilder.forAddress(bus.address).withShared(false).build()) {
      owner.requestBusName(SecretServiceApi.BUS_NAME);
      owner.exportObject(SecretServiceApi.SERVICE_PATH, silent);
      assertTrue(bus.hasOwner(SecretServiceApi.BUS_NAME));
      SecretServiceStore store = new SecretServiceStore(bus.env(), SecretServiceStore.DEADLINE);

      long[] took = {0};
      assertEquals(Optional.empty(), timed(took, () -> store.find(KEY)));
      assertTrue(took[0] >= SecretServiceStore.DEADLINE.toMillis() - 100 && took[0] < MAX_MILLIS,
          "gave up after " + took[0] + " ms (deadline " + SecretServiceStore.DEADLINE.toMillis() + " ms)");
      assertFalse(timed(took, store::reachable));
      assertTrue(took[0] < MAX_MILLIS, "probe gave up after " + took[0] + " ms");
      assertTrue(lines().get(0).contains("no answer within 2000 ms"), lines().toString());
      silent.release.countDown(); // let the service's threads finish while it is still connected
      Thread.sleep(200);
    } finally {
      silent.release.countDown();
    }
  }

  /** A real gnome-keyring-daemon (secrets only) on the bus; unlocked with the password, or left locked. */
  private Process gnomeKeyring(PrivateBus bus, String unlockWith) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(unlockWith != null
        ? List.of("/usr/bin/gnome-keyring-daemon", "--foreground", "--components=secrets", "--unlock")
        : List.of("/usr/bin/gnome-keyring-daemon", "--foreground", "--components=secrets"));
    pb.environment().clear();
    pb.environment().putAll(bus.env());
    pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("gnome-keyring.log").toFile()));
    Process p = pb.start();
    if (unlockWith != null) {
      p.getOutputStream().write(unlockWith.getBytes(StandardCharsets.UTF_8));
    }
    p.getOutputStream().close();
    bus.awaitOwner(SecretServiceApi.BUS_NAME);
    return p;
  }

  private static void stop(PrivateBus bus, Process p) throws Exception {
    p.destroy();
    if (!p.waitFor(5, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    long t0 = System.currentTimeMillis();
    while (bus.hasOwner(SecretServiceApi.BUS_NAME) && System.currentTimeMillis() - t0 < 5000) {
      Thread.sleep(50);
    }
  }

  @Test
  void aStoredSecretIsFoundWhileTheKeyringIsUnlockedAndNotWhileItIsLocked() throws Exception {
    RealComponents.require("gnome-keyring", Files.isExecutable(Path.of("/usr/bin/gnome-keyring-daemon"))
        && Files.isExecutable(Path.of("/usr/bin/secret-tool")) && PrivateBus.available(),
        "apt-get install gnome-keyring dbus-daemon libsecret-tools");
    try (PrivateBus bus = new PrivateBus(dir)) {
      SecretServiceStore store = new SecretServiceStore(bus.env(), SecretServiceStore.DEADLINE);
      Process unlocked = gnomeKeyring(bus, "login password");
      try {
        Map<String, String> env = new HashMap<>(bus.env());
        Proc.run(T, env, "stored passphrase".getBytes(StandardCharsets.UTF_8), "/usr/bin/secret-tool", "store",
            "--label=Unlock password for: u", "unique", KEY.get("unique")).assertOk();
        byte[] found = store.find(KEY).orElseThrow(() -> new AssertionError("not found: " + lines()));
        assertEquals("stored passphrase", new String(found, StandardCharsets.UTF_8));
        assertTrue(store.reachable());
      } finally {
        stop(bus, unlocked);
      }

      Process locked = gnomeKeyring(bus, null); // the login keyring exists now, and stays locked
      try {
        long[] took = {0};
        assertEquals(Optional.empty(), timed(took, () -> store.find(KEY)));
        assertTrue(took[0] < MAX_MILLIS, "took " + took[0] + " ms");
        assertTrue(lines().stream().anyMatch(l -> l.contains("the keyring holding the secret is locked")), lines().toString());
        byte[] secret = "typed".getBytes(StandardCharsets.UTF_8);
        assertFalse(timed(took, () -> store.store("label", Map.of("unique", "ssh-store:/other"), secret)),
            "nothing is stored into a locked keyring (and no prompt is waited for)");
        assertTrue(took[0] < MAX_MILLIS, "took " + took[0] + " ms");
      } finally {
        stop(bus, locked);
      }
    }
  }
}
