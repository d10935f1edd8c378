package dev.keymux.backend.file;

import static org.junit.jupiter.api.Assertions.*;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.keys.Fingerprints;
import dev.keymux.core.keys.SshSignatures;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.prompt.Prompts;
import dev.keymux.testing.Askpass;
import dev.keymux.testing.Proc;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * The file backend against key files written by OpenSSH's ssh-keygen and by openssl, generated
 * at test time; passphrases come from real askpass scripts.
 */
class FileKeyBackendTest {
  static final Duration T = Duration.ofSeconds(60);
  static final String PASS = "correct horse";
  @TempDir Path dir;
  final Session session = Session.local();
  final List<FileKeyBackend> started = new ArrayList<>();
  ListAppender<ILoggingEvent> logs;

  @BeforeEach
  void captureLogs() {
    Logger logger = (Logger) LoggerFactory.getLogger(FileKeyBackend.class);
    logs = new ListAppender<>();
    logs.start();
    logger.addAppender(logs);
    logger.setLevel(Level.INFO);
  }

  @AfterEach
  void stop() {
    started.forEach(FileKeyBackend::close);
    ((Logger) LoggerFactory.getLogger(FileKeyBackend.class)).detachAppender(logs);
  }

  /** A clock the test moves forward, to reach certificate expiry and unlock-for ends without waiting. */
  static final class MovableClock extends Clock {
    private volatile Instant now = Instant.now();

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }
  }

  private FileKeyBackend backend(Map<String, String> askpassEnv, String unlockFor, boolean watch, String... paths) {
    return backend(Clock.systemUTC(), askpassEnv, unlockFor, watch, paths);
  }

  private FileKeyBackend backend(Clock clock, Map<String, String> askpassEnv, String unlockFor, boolean watch, String... paths) {
    FileBackendSettings s = new FileBackendSettings(List.of(paths),
        unlockFor.equals("forever") ? Duration.ZERO : Duration.parse(unlockFor), unlockFor.equals("forever"), watch, 3);
    FileKeyBackend b = new FileKeyBackend("files", s, new PromptedPassphraseSource(Prompts.askpassOnly(askpassEnv, Duration.ofSeconds(10))),
        clock, dir);
    b.start();
    started.add(b);
    return b;
  }

  private FileKeyBackend backend(Path askpass, String... paths) {
    return backend(Askpass.env(askpass), "PT8H", false, paths);
  }

  private static KeyBlob pubBlob(Path key) throws Exception {
    return new KeyBlob(Base64.getDecoder().decode(Files.readString(Path.of(key + ".pub")).trim().split("\\s+")[1]));
  }

  private void assertSigns(FileKeyBackend b, KeyBlob key) throws Exception {
    byte[] data = "to be signed".getBytes();
    int flags = key.type().contains("rsa") ? AgentProtocol.SSH_AGENT_RSA_SHA2_512 : 0;
    byte[] sig = b.sign(session, key, data, flags);
    assertTrue(SshSignatures.verify(SshSignatures.publicBlobOf(key.bytes()), sig, data), "signature verifies");
  }

  /** Whether a line containing {@code text} was logged; safe while other threads log (the appender locks itself). */
  private boolean logged(String text) {
    List<ILoggingEvent> copy;
    synchronized (logs) {
      copy = new ArrayList<>(logs.list);
    }
    return copy.stream().anyMatch(e -> e.getFormattedMessage().contains(text));
  }

  private List<String> warnings() {
    return logs.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
  }

  static Stream<Arguments> sshKeygenFiles() {
    List<Arguments> out = new ArrayList<>();
    for (String type : List.of("ed25519", "ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa-2048")) {
      for (String format : List.of("RFC4716", "PEM", "PKCS8")) {
        if (type.equals("ed25519") && !format.equals("RFC4716")) {
          continue; // ssh-keygen writes ed25519 only as openssh-key-v1
        }
        out.add(Arguments.of(type, format, ""));
        out.add(Arguments.of(type, format, PASS));
      }
    }
    for (String cipher : List.of("aes128-ctr", "aes256-cbc", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
        "chacha20-poly1305@openssh.com")) {
      out.add(Arguments.of("ed25519", "RFC4716 -Z " + cipher, PASS));
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} {1} passphrase={2}")
  @MethodSource("sshKeygenFiles")
  void everyFileSshKeygenWritesIsListedWithItsFingerprintAndSigns(String type, String format, String pass) throws Exception {
    Path key = dir.resolve("id_test");
    String[] t = type.split("-");
    List<String> cmd = new ArrayList<>(List.of("/usr/bin/ssh-keygen", "-q", "-t", t[0], "-N", pass, "-C", "c", "-f", key.toString()));
    if (t.length > 1) {
      cmd.addAll(List.of("-b", t[1]));
    }
    String[] f = format.split(" ");
    cmd.addAll(List.of("-m", f[0]));
    if (f.length > 2) {
      cmd.addAll(List.of("-Z", f[2]));
    }
    Proc.run(T, Map.of(), cmd.toArray(String[]::new)).assertOk();
    Path log = dir.resolve("askpass.log");
    FileKeyBackend b = backend(Askpass.recording(dir, PASS, log), key.toString());
    List<Identity> ids = b.list(session);
    assertEquals(1, ids.size(), warnings().toString());
    assertEquals(TestKeys.fingerprint(key), Fingerprints.sha256(ids.get(0).key().bytes()));
    assertEquals(pass.isEmpty() ? "no passphrase" : "locked", b.keyState(ids.get(0).key()));
    assertSigns(b, ids.get(0).key());
    assertSigns(b, ids.get(0).key());
    long prompts = Files.exists(log) ? Files.readAllLines(log).stream().filter(l -> l.startsWith("prompt=")).count() : 0;
    assertEquals(pass.isEmpty() ? 0 : 1, prompts, "asked once, then kept unlocked");
    if (!pass.isEmpty()) {
      assertTrue(b.keyState(ids.get(0).key()).startsWith("unlocked"), b.keyState(ids.get(0).key()));
      assertTrue(Files.readString(log).contains("Enter passphrase for " + key), Files.readString(log));
    }
  }

  /** The OpenSSH public blob of an ed25519 PKCS#8 file, from openssl's SubjectPublicKeyInfo. */
  private static byte[] ed25519BlobFromOpenssl(Path pkcs8, String pass) {
    String passArg = pass == null ? "" : " -passin pass:'" + pass + "'";
    byte[] spki = Base64.getDecoder().decode(Proc.run(T, Map.of(), "/bin/sh", "-c",
        "/usr/bin/openssl pkey -in " + pkcs8 + passArg + " -pubout -outform DER | base64 -w0").assertOk().stdout().trim());
    byte[] raw = java.util.Arrays.copyOfRange(spki, spki.length - 32, spki.length);
    return new dev.keymux.core.wire.SshWriter().writeString("ssh-ed25519").writeString(raw).toByteArray();
  }

  @Test
  void opensslPkcs8Ed25519PlainAndEncrypted() throws Exception {
    Path plain = dir.resolve("ed_plain");
    Proc.run(T, Map.of(), "/usr/bin/openssl", "genpkey", "-algorithm", "ed25519", "-out", plain.toString()).assertOk();
    Files.setPosixFilePermissions(plain, PosixFilePermissions.fromString("rw-------"));
    Path enc = dir.resolve("ed_enc");
    Proc.run(T, Map.of(), "/usr/bin/openssl", "genpkey", "-algorithm", "ed25519", "-aes-256-cbc", "-pass", "pass:" + PASS,
        "-out", enc.toString()).assertOk();
    Files.setPosixFilePermissions(enc, PosixFilePermissions.fromString("rw-------"));
    assertTrue(Files.readString(enc).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    byte[] plainBlob = ed25519BlobFromOpenssl(plain, null);
    byte[] encBlob = ed25519BlobFromOpenssl(enc, PASS);
    Files.writeString(Path.of(enc + ".pub"), "ssh-ed25519 " + Base64.getEncoder().encodeToString(encBlob) + " openssl\n");

    FileKeyBackend b = backend(Askpass.answering(dir, PASS), plain.toString(), enc.toString());
    List<Identity> ids = b.list(session);
    assertEquals(2, ids.size(), warnings().toString());
    assertArrayEquals(plainBlob, ids.get(0).key().bytes());
    assertArrayEquals(encBlob, ids.get(1).key().bytes());
    assertSigns(b, ids.get(0).key());
    assertSigns(b, ids.get(1).key());
  }

  @Test
  void wrongThenRightPassphrase() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ed25519", "pw", PASS);
    // Answers "wrong" first, then the right passphrase.
    Path script = dir.resolve("askpass-seq");
    Files.writeString(script, "#!/bin/sh\nif [ -e " + dir + "/asked ]; then printf '%s\\n' '" + PASS + "'; else touch "
        + dir + "/asked; echo wrong; fi\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    FileKeyBackend b = backend(script, key.toString());
    assertSigns(b, pubBlob(key));
    assertTrue(logs.list.stream().anyMatch(e -> e.getFormattedMessage().contains("wrong passphrase for " + key)));
  }

  @Test
  void threeWrongPassphrasesFailThatRequestOnly() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ecdsa-256", "pw", PASS);
    Path log = dir.resolve("asked.log");
    FileKeyBackend b = backend(Askpass.recording(dir, "nope", log), key.toString());
    AgentException e = assertThrows(AgentException.class, () -> b.sign(session, pubBlob(key), new byte[] {1}, 0));
    assertTrue(e.getMessage().contains("3 times"), e.getMessage());
    assertEquals(3, Files.readAllLines(log).stream().filter(l -> l.startsWith("prompt=")).count());
    assertTrue(Files.readString(log).contains("Bad passphrase, try again for"), Files.readString(log));
    assertEquals(1, b.list(session).size(), "the key is still offered");
  }

  /** An askpass that logs each prompt and answers "wrong" the first time, PASS after. */
  private Path wrongThenRightAskpass(Path log) throws Exception {
    Path script = dir.resolve("askpass-wrong-first");
    Path marker = dir.resolve("askpass-asked");
    Files.writeString(script, "#!/bin/sh\nprintf 'prompt=%s\\n' \"$1\" >> '" + log + "'\nif [ -e '" + marker + "' ]; then printf '%s\\n' '"
        + PASS + "'; else touch '" + marker + "'; echo wrong; fi\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return script;
  }

  static Stream<Arguments> opensslEncryptedPem() {
    return Stream.of(
        Arguments.of("PKCS#8 EC (openssl genpkey -aes256)", "ENCRYPTED PRIVATE KEY",
            "/usr/bin/openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -aes256 -pass pass:'" + PASS + "' -out KEY"),
        Arguments.of("SEC1 EC (openssl ec -aes256)", "EC PRIVATE KEY",
            "/usr/bin/openssl ecparam -name prime256v1 -genkey -noout -out KEY.plain && /usr/bin/openssl ec -in KEY.plain -aes256 "
                + "-passout pass:'" + PASS + "' -out KEY && rm KEY.plain"),
        Arguments.of("PKCS#1 RSA (openssl genrsa -aes256 -traditional)", "RSA PRIVATE KEY",
            "/usr/bin/openssl genrsa -aes256 -traditional -passout pass:'" + PASS + "' -out KEY 2048"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("opensslEncryptedPem")
  void aWrongPassphraseForAnOpensslKeyIsAskedAgain(String what, String pemType, String command) throws Exception {
    Path key = dir.resolve("id_openssl");
    Proc.run(T, Map.of(), "/bin/sh", "-c", command.replace("KEY", key.toString())).assertOk();
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
    assertTrue(Files.readString(key).startsWith("-----BEGIN " + pemType + "-----"), Files.readString(key));
    // No clear public half in these formats: the .pub beside it, as ssh-keygen -y writes it.
    String pub = Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-y", "-P", PASS, "-f", key.toString()).assertOk().stdout();
    Files.writeString(Path.of(key + ".pub"), pub);
    Path log = dir.resolve("asked.log");
    FileKeyBackend b = backend(wrongThenRightAskpass(log), key.toString());
    assertEquals(List.of(pubBlob(key)), b.list(session).stream().map(Identity::key).toList(), warnings().toString());
    assertEquals("locked", b.keyState(pubBlob(key)));
    assertSigns(b, pubBlob(key));
    assertEquals(List.of("prompt=Enter passphrase for " + key + ": ", "prompt=Bad passphrase, try again for " + key + ": "),
        Files.readAllLines(log));
    assertTrue(logs.list.stream().anyMatch(e -> e.getFormattedMessage().contains("wrong passphrase for " + key + " (attempt 1)")));
    assertTrue(b.keyState(pubBlob(key)).startsWith("unlocked"), b.keyState(pubBlob(key)));
  }

  /** Verifies an SSH RSA signature blob with openssl, independently of keymux's own code. */
  private void assertOpensslVerifies(Path key, byte[] sshSignature, byte[] data, String digest) throws Exception {
    dev.keymux.core.wire.SshReader r = new dev.keymux.core.wire.SshReader(sshSignature);
    r.readUtf8();
    Path sig = Files.write(dir.resolve("sig.bin"), r.readString());
    Path in = Files.write(dir.resolve("data.bin"), data);
    Path pem = dir.resolve("pub.pem");
    Files.writeString(pem, Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-e", "-m", "PKCS8", "-f", key + ".pub").assertOk().stdout());
    Proc.run(T, Map.of(), "/usr/bin/openssl", "dgst", "-" + digest, "-verify", pem.toString(), "-signature", sig.toString(),
        in.toString()).assertOk();
  }

  @Test
  void anRsaFileKeySignsSshRsaWithoutFlagsAndRsaSha2256WhenAsked() throws Exception {
    Path key = TestKeys.generate(dir, "id_rsa", "rsa-2048", "rsa", PASS);
    FileKeyBackend b = backend(Askpass.answering(dir, PASS), key.toString());
    byte[] data = "session id and userauth request".getBytes();

    byte[] sha1 = b.sign(session, pubBlob(key), data, 0);
    assertEquals("ssh-rsa", new dev.keymux.core.wire.SshReader(sha1).readUtf8(), "no flags: ssh-rsa (SHA-1), RFC 8332 section 3");
    assertOpensslVerifies(key, sha1, data, "sha1");

    byte[] sha256 = b.sign(session, pubBlob(key), data, AgentProtocol.SSH_AGENT_RSA_SHA2_256);
    assertEquals(0x02, AgentProtocol.SSH_AGENT_RSA_SHA2_256);
    assertEquals("rsa-sha2-256", new dev.keymux.core.wire.SshReader(sha256).readUtf8());
    assertOpensslVerifies(key, sha256, data, "sha256");
  }

  @Test
  void aCancelledPromptFailsThatRequestOnly() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ed25519", "pw", PASS);
    FileKeyBackend b = backend(Askpass.refusing(dir), key.toString());
    AgentException e = assertThrows(AgentException.class, () -> b.sign(session, pubBlob(key), new byte[] {1}, 0));
    assertTrue(e.getMessage().contains("not given"), e.getMessage());
  }

  @Test
  void noAskpassMeansAClearFailure() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ed25519", "pw", PASS);
    FileKeyBackend b = backend(dir.resolve("no-such-askpass"), key.toString());
    AgentException e = assertThrows(AgentException.class, () -> b.sign(session, pubBlob(key), new byte[] {1}, 0));
    assertTrue(e.getMessage().contains("no askpass program can run"), e.getMessage());
    // An unencrypted key in the same backend still signs.
    Path plain = TestKeys.generate(dir, "id_plain", "ed25519", "plain");
    FileKeyBackend both = backend(dir.resolve("no-such-askpass"), key.toString(), plain.toString());
    assertSigns(both, pubBlob(plain));
  }

  @Test
  void unlockForZeroAsksForEverySignature() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ed25519", "pw", PASS);
    Path log = dir.resolve("asked.log");
    FileKeyBackend b = backend(Askpass.env(Askpass.recording(dir, PASS, log)), "PT0S", false, key.toString());
    assertSigns(b, pubBlob(key));
    assertSigns(b, pubBlob(key));
    assertEquals(2, Files.readAllLines(log).stream().filter(l -> l.startsWith("prompt=")).count());
    assertEquals("locked", b.keyState(pubBlob(key)));
  }

  /** An askpass that logs its prompt, then takes {@code seconds} to answer PASS: a user typing slowly. */
  private Path slowAskpass(int seconds, Path log) throws Exception {
    Path script = dir.resolve("askpass-slow");
    Files.writeString(script, "#!/bin/sh\nprintf 'prompt=%s\\n' \"$1\" >> '" + log + "'\nsleep " + seconds
        + "\nprintf '%s\\n' '" + PASS + "'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return script;
  }

  private static long prompts(Path log) throws Exception {
    return Files.exists(log) ? Files.readAllLines(log).stream().filter(l -> l.startsWith("prompt=")).count() : 0;
  }

  private static void awaitPrompts(Path log, long n) throws Exception {
    long t0 = System.nanoTime();
    while (prompts(log) < n && System.nanoTime() - t0 < 10_000_000_000L) {
      Thread.sleep(20);
    }
    assertEquals(n, prompts(log), "prompts shown");
  }

  private static long millisSince(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  @Test
  void aPassphrasePromptBlocksNeitherListingNorLockAndTheLockWins() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ed25519", "pw", PASS);
    Path log = dir.resolve("asked.log");
    FileKeyBackend b = backend(slowAskpass(3, log), key.toString());
    KeyBlob blob = pubBlob(key);
    ExecutorService pool = Executors.newCachedThreadPool();
    try {
      Future<byte[]> signing = pool.submit(() -> b.sign(session, blob, "data".getBytes(), 0));
      awaitPrompts(log, 1);
      long t0 = System.nanoTime();
      assertEquals("locked", b.keyState(blob));
      assertEquals(1, b.list(session).size());
      b.onLock();
      b.removeAll(session);
      assertTrue(millisSince(t0) < 1000, "keyState, list, lock and -D answered during the prompt in " + millisSince(t0) + " ms");

      // The prompt still finishes; the key it decrypted must not outlive the lock.
      ExecutionException e = assertThrows(ExecutionException.class, () -> signing.get(30, TimeUnit.SECONDS));
      assertInstanceOf(AgentException.class, e.getCause());
      assertTrue(e.getCause().getMessage().contains("locked"), e.getCause().getMessage());
      assertEquals("locked", b.keyState(blob));
      assertSigns(b, blob);
      assertEquals(2, prompts(log), "the next signature asks again");
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aKeyUnlockedWhileARescanReplacedItsEntryCannotEscapeRemoveAll() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ed25519", "pw", PASS);
    Path log = dir.resolve("asked.log");
    FileKeyBackend b = backend(slowAskpass(2, log), key.toString());
    KeyBlob blob = pubBlob(key);
    byte[] data = "data".getBytes();
    ExecutorService pool = Executors.newCachedThreadPool();
    try {
      Future<byte[]> first = pool.submit(() -> b.sign(session, blob, data, 0));
      awaitPrompts(log, 1);
      // A second signer looks the key up and waits for the first one's unlock.
      List<Thread> second = new ArrayList<>();
      Future<byte[]> waiting = pool.submit(() -> {
        synchronized (second) {
          second.add(Thread.currentThread());
        }
        return b.sign(session, blob, data, 0);
      });
      long t0 = System.nanoTime();
      while (millisSince(t0) < 5000) {
        synchronized (second) {
          if (!second.isEmpty() && second.get(0).getState() != Thread.State.RUNNABLE) {
            break;
          }
        }
        Thread.sleep(5);
      }
      // Meanwhile the file changes on disk and a rescan replaces its entry.
      Files.setLastModifiedTime(key, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 10_000));
      b.rescan();
      assertTrue(SshSignatures.verify(blob.bytes(), first.get(30, TimeUnit.SECONDS), data));
      assertTrue(SshSignatures.verify(blob.bytes(), waiting.get(30, TimeUnit.SECONDS), data));
      // Whatever was decrypted is held by the entry lock and -D can reach.
      assertTrue(b.keyState(blob).startsWith("unlocked"), b.keyState(blob));
      long asked = prompts(log);
      assertSigns(b, blob);
      assertEquals(asked, prompts(log), "kept unlocked in the current entry");
      b.removeAll(session);
      assertEquals("locked", b.keyState(blob));
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void unlockForOneSecondLocksAgainAndTheNextSignatureAsksAgain() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ed25519", "pw", PASS);
    Path log = dir.resolve("asked.log");
    FileKeyBackend b = backend(Askpass.env(Askpass.recording(dir, PASS, log)), "PT1S", false, key.toString());
    assertSigns(b, pubBlob(key));
    assertEquals("unlocked, locks in 0m", b.keyState(pubBlob(key)));
    long t0 = System.nanoTime();
    while (!b.keyState(pubBlob(key)).equals("locked") && millisSince(t0) < 5000) {
      Thread.sleep(20);
    }
    assertEquals("locked", b.keyState(pubBlob(key)));
    // and the decrypted key is actually dropped, by the timer, not merely considered expired
    while (!logged(key + " locked again (unlock-for elapsed)") && millisSince(t0) < 5000) {
      Thread.sleep(20);
    }
    assertTrue(logged(key + " locked again (unlock-for elapsed)"));
    assertEquals(1, prompts(log));
    assertSigns(b, pubBlob(key));
    assertEquals(2, prompts(log), "asked again after unlock-for");
  }

  @Test
  void unlockForForeverKeepsTheKeyUntilLock() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ecdsa-384", "pw", PASS);
    Path log = dir.resolve("asked.log");
    MovableClock clock = new MovableClock();
    FileKeyBackend b = backend(clock, Askpass.env(Askpass.recording(dir, PASS, log)), "forever", false,
        key.toString());
    assertSigns(b, pubBlob(key));
    clock.advance(Duration.ofDays(1000));
    assertEquals("unlocked", b.keyState(pubBlob(key)));
    assertSigns(b, pubBlob(key));
    assertEquals(1, prompts(log));
    b.onLock();
    assertEquals("locked", b.keyState(pubBlob(key)));
    assertSigns(b, pubBlob(key));
    assertEquals(2, prompts(log));
  }

  @Test
  void onlyAKeyUnlockedInMemorySignsAtOnceAndThatNeverPrompts() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ed25519", "pw", PASS);
    Path log = dir.resolve("asked.log");
    MovableClock clock = new MovableClock();
    FileKeyBackend b = backend(clock, Askpass.env(Askpass.recording(dir, PASS, log)), "PT1H", false, key.toString());
    KeyBlob blob = pubBlob(key);
    byte[] data = "to be signed at once".getBytes();
    assertEquals(List.of(blob), b.listAtOnce(session).orElseThrow().stream().map(Identity::key).toList());
    assertTrue(b.signAtOnce(session, blob, data, 0).isEmpty(), "still encrypted: only sign may prompt");
    assertEquals(0, prompts(log));
    assertSigns(b, blob);
    byte[] sig = b.signAtOnce(session, blob, data, 0).orElseThrow();
    assertTrue(SshSignatures.verify(SshSignatures.publicBlobOf(blob.bytes()), sig, data), "signature verifies");
    clock.advance(Duration.ofHours(2));
    assertTrue(b.signAtOnce(session, blob, data, 0).isEmpty(), "unlock-for is over");
    assertSigns(b, blob);
    b.onLock();
    assertTrue(b.signAtOnce(session, blob, data, 0).isEmpty(), "locked");
    assertEquals(2, prompts(log), "the at-once path asked for nothing");
  }

  @Test
  void lockAndRemoveAllDropTheDecryptedKey() throws Exception {
    Path key = TestKeys.generate(dir, "id_pw", "ed25519", "pw", PASS);
    Path log = dir.resolve("asked.log");
    FileKeyBackend b = backend(Askpass.recording(dir, PASS, log), key.toString());
    assertSigns(b, pubBlob(key));
    b.onLock();
    assertEquals("locked", b.keyState(pubBlob(key)));
    assertSigns(b, pubBlob(key));
    b.removeAll(session);
    assertEquals("locked", b.keyState(pubBlob(key)));
    assertEquals(1, b.list(session).size(), "file keys stay offered after ssh-add -D");
    assertEquals(2, Files.readAllLines(log).stream().filter(l -> l.startsWith("prompt=")).count());
  }

  @Test
  void aCertificateNextToTheKeyIsOfferedAndSigns() throws Exception {
    Path ca = TestKeys.generate(dir, "ca", "ed25519", "ca");
    Path key = TestKeys.generate(dir, "id_c", "ecdsa-256", "user");
    TestKeys.certify(ca, Path.of(key + ".pub"), "u", "tester", "+1h");
    Path expiredKey = TestKeys.generate(dir, "id_old", "ed25519", "old");
    TestKeys.certify(ca, Path.of(expiredKey + ".pub"), "old", "tester", "20200101:20200102");
    FileKeyBackend b = backend(Askpass.refusing(dir), key.toString(), expiredKey.toString());
    List<Identity> ids = b.list(session);
    assertEquals(3, ids.size(), ids.toString());
    KeyBlob cert = ids.stream().map(Identity::key).filter(k -> k.type().endsWith("-cert-v01@openssh.com")).findFirst().orElseThrow();
    assertSigns(b, cert);
    assertTrue(warnings().stream().anyMatch(w -> w.contains("id_old-cert.pub") && w.contains("expired")), warnings().toString());
  }

  @Test
  void aCertificateStopsBeingOfferedWhenItExpiresAndStartsWhenItBecomesValid() throws Exception {
    Path ca = TestKeys.generate(dir, "ca", "ed25519", "ca");
    Path key = TestKeys.generate(dir, "id_c", "ed25519", "user");
    Path cert = TestKeys.certify(ca, Path.of(key + ".pub"), "u", "tester", "+1h");
    Path laterKey = TestKeys.generate(dir, "id_later", "ecdsa-256", "later");
    Path laterCert = TestKeys.certify(ca, Path.of(laterKey + ".pub"), "l", "tester", "+1h:+3h");
    MovableClock clock = new MovableClock();
    FileKeyBackend b = backend(clock, Map.of(), "PT8H", false, key.toString(), laterKey.toString());
    KeyBlob certBlob = pubBlob(Path.of(cert.toString().replace(".pub", "")));
    KeyBlob laterBlob = pubBlob(Path.of(laterCert.toString().replace(".pub", "")));
    assertEquals(List.of(pubBlob(key), certBlob, pubBlob(laterKey)), b.list(session).stream().map(Identity::key).toList());
    assertSigns(b, certBlob);

    clock.advance(Duration.ofMinutes(90)); // the first has expired, the second is now valid
    for (int i = 0; i < 3; i++) {
      assertEquals(List.of(pubBlob(key), pubBlob(laterKey), laterBlob), b.list(session).stream().map(Identity::key).toList());
    }
    List<String> about = warnings().stream().filter(w -> w.contains(cert.toString())).toList();
    assertEquals(1, about.size(), "logged once: " + warnings());
    assertTrue(about.get(0).contains("expired"), about.get(0));
    AgentException e = assertThrows(AgentException.class, () -> b.sign(session, certBlob, new byte[] {1}, 0));
    assertTrue(e.getMessage().contains("not valid"), e.getMessage());
    assertSigns(b, laterBlob);
    assertSigns(b, pubBlob(key)); // the key itself is still offered
  }

  @Test
  void aMismatchedPubFoundOnlyByDecryptingIsSkippedOnceAndNotAskedAgain() throws Exception {
    // An encrypted PEM key has no clear public half: its .pub can only be checked after the passphrase.
    Path key = dir.resolve("id_pem");
    Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-q", "-t", "ecdsa", "-m", "PEM", "-N", PASS, "-f", key.toString()).assertOk();
    Path other = TestKeys.generate(dir, "other", "ecdsa-256", "other");
    Files.copy(Path.of(other + ".pub"), Path.of(key + ".pub"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Path log = dir.resolve("asked.log");
    FileKeyBackend b = backend(Askpass.recording(dir, PASS, log), key.toString());
    KeyBlob listed = pubBlob(other);
    assertEquals(List.of(listed), b.list(session).stream().map(Identity::key).toList());

    AgentException e = assertThrows(AgentException.class, () -> b.sign(session, listed, new byte[] {1}, 0));
    assertTrue(e.getMessage().contains("does not match"), e.getMessage());
    assertEquals(List.of(), b.list(session), "no longer offered");
    assertThrows(AgentException.class, () -> b.sign(session, listed, new byte[] {1}, 0));
    b.rescan();
    assertEquals(List.of(), b.list(session), "still not offered after a rescan of the unchanged files");
    assertEquals(1, prompts(log), "the passphrase is not asked again");
    List<String> about = warnings().stream().filter(w -> w.contains(key + ":")).toList();
    assertEquals(1, about.size(), warnings().toString());
    assertTrue(about.get(0).contains("skipping") && about.get(0).contains("does not match"), about.get(0));
  }

  /** Writes a file with an mtime clearly after the old one, whatever the filesystem's granularity. */
  private static void rewrite(Path file, String content) throws Exception {
    long before = Files.getLastModifiedTime(file).toMillis();
    Files.writeString(file, content);
    Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(before + 10_000));
  }

  @Test
  void anEditedPubIsReadAgain() throws Exception {
    Path key = TestKeys.generate(dir, "id_k", "ed25519", "old comment");
    Path pem = dir.resolve("id_pem");
    Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-q", "-t", "ecdsa", "-m", "PEM", "-N", PASS, "-C", "pem", "-f", pem.toString())
        .assertOk();
    String pemPub = Files.readString(Path.of(pem + ".pub"));
    Path other = TestKeys.generate(dir, "other", "ecdsa-256", "other");
    rewrite(Path.of(pem + ".pub"), Files.readString(Path.of(other + ".pub"))); // a .pub of another key
    FileKeyBackend b = backend(Askpass.answering(dir, PASS), key.toString(), pem.toString());
    assertThrows(AgentException.class, () -> b.sign(session, pubBlob(other), new byte[] {1}, 0));
    assertEquals(List.of("old comment"), b.list(session).stream().map(Identity::comment).toList(), "id_pem skipped");

    String[] line = TestKeys.publicLine(key).split(" ");
    rewrite(Path.of(key + ".pub"), line[0] + " " + line[1] + " new comment\n");
    rewrite(Path.of(pem + ".pub"), pemPub); // the right public half again
    b.rescan();
    assertEquals(List.of("new comment", "pem"), b.list(session).stream().map(Identity::comment).toList());
    assertSigns(b, pubBlob(pem));
  }

  @Test
  void permissionsAreCheckedLikeOpenSsh() throws Exception {
    // OpenSSH (sshkey_perm_ok) refuses a key file of ours that group or others may use in any way...
    Path groupExec = TestKeys.generate(dir, "id_gx", "ed25519", "gx");
    Files.setPosixFilePermissions(groupExec, PosixFilePermissions.fromString("rw---x---"));
    Path ownerOnly = TestKeys.generate(dir, "id_own", "ed25519", "own");
    Files.setPosixFilePermissions(ownerOnly, PosixFilePermissions.fromString("r--------"));
    FileKeyBackend b = backend(Askpass.refusing(dir), groupExec.toString(), ownerOnly.toString());
    assertEquals(List.of(pubBlob(ownerOnly)), b.list(session).stream().map(Identity::key).toList());
    assertEquals(List.of("backend files: skipping " + groupExec + ": Permissions 0610 for '" + groupExec
        + "' are too open. It is required that your private key files are NOT accessible by others. "
        + "This private key will be ignored."), warnings());

    // ...but not a file owned by someone else, which only root (or a shared group) can read anyway.
    org.junit.jupiter.api.Assumptions.assumeTrue(
        (Integer) Files.getAttribute(dir, "unix:uid") == 0, "chown to another user needs root");
    Path others = TestKeys.generate(dir, "id_theirs", "ed25519", "theirs");
    Files.setPosixFilePermissions(others, PosixFilePermissions.fromString("rw-r--r--"));
    Files.setAttribute(others, "unix:uid", 65534);
    FileKeyBackend theirs = backend(Askpass.refusing(dir), others.toString());
    assertEquals(List.of(pubBlob(others)), theirs.list(session).stream().map(Identity::key).toList(), warnings().toString());
    assertSigns(theirs, pubBlob(others));
  }

  @Test
  void badFilesAreSkippedEachWithOneReasonAndTheRestKeepWorking() throws Exception {
    Path good = TestKeys.generate(dir, "id_good", "ed25519", "good");
    Path open = TestKeys.generate(dir, "id_open", "ed25519", "open");
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
    Path truncated = TestKeys.generate(dir, "id_trunc", "ed25519", "trunc");
    byte[] full = Files.readAllBytes(truncated);
    Files.write(truncated, java.util.Arrays.copyOf(full, full.length / 2));
    Path garbage = dir.resolve("id_garbage");
    Files.writeString(garbage, "this is not a key\n");
    Files.setPosixFilePermissions(garbage, PosixFilePermissions.fromString("rw-------"));
    Path mismatch = TestKeys.generate(dir, "id_mismatch", "ed25519", "mm");
    Files.copy(Path.of(good + ".pub"), Path.of(mismatch + ".pub"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Path dsa = dir.resolve("id_dsa");
    Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-q", "-t", "dsa", "-N", "", "-f", dsa.toString()).assertOk();
    Path weak = dir.resolve("id_weak");
    Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", weak.toString()).assertOk();
    Path encNoPub = dir.resolve("id_encnopub");
    Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-q", "-t", "rsa", "-m", "PEM", "-N", PASS, "-f", encNoPub.toString()).assertOk();
    Files.delete(Path.of(encNoPub + ".pub"));
    Path empty = dir.resolve("id_empty");
    Files.createFile(empty, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));

    FileKeyBackend b = backend(Askpass.refusing(dir), dir + "/id_*");
    assertEquals(List.of(pubBlob(good)), b.list(session).stream().map(Identity::key).toList(), warnings().toString());
    assertSigns(b, pubBlob(good));
    Map<Path, String> expected = Map.of(
        open, "Permissions 0644 for '" + open + "' are too open. It is required that your private key files are NOT "
            + "accessible by others. This private key will be ignored.", truncated, "corrupt", garbage, "not a PEM", mismatch, "does not match",
        dsa, "DSA keys are not supported", weak, "too weak", encNoPub, "without a public half", empty, "not a PEM");
    for (Map.Entry<Path, String> e : expected.entrySet()) {
      List<String> about = warnings().stream().filter(w -> w.contains(e.getKey() + ":")).toList();
      assertEquals(1, about.size(), "exactly one line about " + e.getKey() + ": " + warnings());
      assertTrue(about.get(0).contains(e.getValue()), about.get(0));
    }
    b.rescan();
    assertEquals(expected.size(), warnings().size(), "a rescan does not repeat known problems: " + warnings());
  }

  @Test
  void watchedKeysAppearAndVanishWithoutARestart() throws Exception {
    Path keys = Files.createDirectories(dir.resolve("ssh"));
    FileKeyBackend b = backend(Map.of(), "PT8H", true, keys + "/id_*");
    assertEquals(List.of(), b.list(session));
    Path key = TestKeys.generate(keys, "id_new", "ed25519", "new");
    long t0 = System.nanoTime();
    while (b.list(session).isEmpty() && System.nanoTime() - t0 < 5_000_000_000L) {
      Thread.sleep(20);
    }
    long appearedMillis = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(List.of(pubBlob(key)), b.list(session).stream().map(Identity::key).toList());
    assertTrue(appearedMillis < 2000, "appeared after " + appearedMillis + " ms");
    assertSigns(b, pubBlob(key));
    assertEquals("no passphrase", b.keyState(pubBlob(key)));

    Files.delete(key);
    t0 = System.nanoTime();
    while (!b.list(session).isEmpty() && System.nanoTime() - t0 < 5_000_000_000L) {
      Thread.sleep(20);
    }
    assertEquals(List.of(), b.list(session));
  }

  private static void awaitListed(FileKeyBackend b, Session session, List<KeyBlob> expected, long millis) throws Exception {
    long t0 = System.nanoTime();
    while (!b.list(session).stream().map(Identity::key).toList().equals(expected) && millisSince(t0) < millis) {
      Thread.sleep(20);
    }
    assertEquals(expected, b.list(session).stream().map(Identity::key).toList(), "after " + millisSince(t0) + " ms");
  }

  @Test
  void aKeyDirectoryCreatedAfterTheStartIsWatched() throws Exception {
    Path home = Files.createDirectories(dir.resolve("home"));
    Path ssh = home.resolve(".ssh");
    Path deeper = home.resolve("keys/work");
    FileKeyBackend b = backend(Map.of(), "PT8H", true, ssh + "/id_*", deeper + "/id_*");
    assertEquals(List.of(), b.list(session));

    Files.createDirectory(ssh); // like a first ssh-keygen run
    Path key = TestKeys.generate(ssh, "id_ed25519", "ed25519", "first");
    awaitListed(b, session, List.of(pubBlob(key)), 3000);

    Files.createDirectory(home.resolve("keys")); // one level at a time: each level is watched in turn
    Thread.sleep(500);
    Files.createDirectory(deeper);
    Thread.sleep(500);
    Path work = TestKeys.generate(deeper, "id_work", "ed25519", "work");
    awaitListed(b, session, List.of(pubBlob(key), pubBlob(work)), 3000);

    // And a directory removed and made again is watched again.
    Files.delete(work);
    Files.delete(Path.of(work + ".pub"));
    Files.delete(deeper);
    awaitListed(b, session, List.of(pubBlob(key)), 3000);
    Files.createDirectory(deeper);
    Thread.sleep(500);
    Path again = TestKeys.generate(deeper, "id_again", "ed25519", "again");
    awaitListed(b, session, List.of(pubBlob(key), pubBlob(again)), 3000);
  }

  @Test
  void aKeyChangedOnDiskDropsItsUnlockedCopy() throws Exception {
    Path keys = Files.createDirectories(dir.resolve("ssh"));
    Path key = TestKeys.generate(keys, "id_pw", "ed25519", "pw", PASS);
    Path log = dir.resolve("asked.log");
    FileKeyBackend b = backend(Askpass.env(Askpass.recording(dir, PASS, log)), "PT8H", true, keys + "/id_*");
    assertSigns(b, pubBlob(key));
    KeyBlob before = pubBlob(key);
    // Re-encrypt with the same key and passphrase: same public key, new file.
    Thread.sleep(1100); // mtime granularity
    Proc.run(T, Map.of(), "/usr/bin/ssh-keygen", "-q", "-p", "-P", PASS, "-N", PASS, "-f", key.toString()).assertOk();
    long t0 = System.nanoTime();
    while (!b.keyState(before).equals("locked") && System.nanoTime() - t0 < 5_000_000_000L) {
      Thread.sleep(20);
    }
    assertEquals("locked", b.keyState(before));
  }

  @Test
  void removingAFileKeyWithSshAddDashDIsRefusedClearly() throws Exception {
    Path key = TestKeys.generate(dir, "id_x", "ed25519", "x");
    FileKeyBackend b = backend(Askpass.refusing(dir), key.toString());
    AgentException e = assertThrows(AgentException.class, () -> b.remove(session, pubBlob(key)));
    assertTrue(e.getMessage().contains("come from files"), e.getMessage());
  }

  @Test
  void unknownSettingsAreRejectedByName() {
    com.typesafe.config.Config block = com.typesafe.config.ConfigFactory.parseString("type = file, pahts = [x]");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FileBackendSettings.from("files", block));
    assertTrue(e.getMessage().contains("pahts"), e.getMessage());
    FileBackendSettings d = FileBackendSettings.from("files", com.typesafe.config.ConfigFactory.parseString("type = file"));
    assertEquals(List.of("~/.ssh/id_*"), d.paths());
    assertEquals(Duration.ofHours(8), d.unlockFor());
    assertTrue(FileBackendSettings.from("f", com.typesafe.config.ConfigFactory.parseString("unlock-for = forever")).forever());
  }
}
