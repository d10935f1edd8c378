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
import dev.keymux.testing.Askpass;
import dev.keymux.testing.Proc;
import dev.keymux.testing.TestKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
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

  private FileKeyBackend backend(Map<String, String> askpassEnv, String unlockFor, boolean watch, String... paths) {
    FileBackendSettings s = new FileBackendSettings(List.of(paths),
        unlockFor.equals("forever") ? Duration.ZERO : Duration.parse(unlockFor), unlockFor.equals("forever"), watch, 3);
    FileKeyBackend b = new FileKeyBackend("files", s, new AskpassPassphraseSource(askpassEnv, Duration.ofSeconds(10)),
        Clock.systemUTC(), dir);
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
        open, "too open", truncated, "corrupt", garbage, "not a PEM", mismatch, "does not match",
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
