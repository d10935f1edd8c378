package dev.keymux.core.server;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.PKCS5S2ParametersGenerator;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * The whole-agent lock of RFC 9987 §3.7. Only a salted, stretched hash of the passphrase is
 * kept; unlock compares in constant time and every failure makes the next answer slower (as
 * OpenSSH does: 0.1 s per failure, capped), so guessing over the socket is impractical.
 */
public final class AgentLock {
  private static final int SALT_BYTES = 16;
  private static final int ITERATIONS = 20_000;
  private static final long DELAY_STEP_MILLIS = 100;

  private final Duration maxDelay;
  private final SecureRandom random = new SecureRandom();
  private byte[] salt;
  private byte[] hash;
  private int failures;

  public AgentLock(Duration maxDelay) {
    this.maxDelay = maxDelay;
  }

  public synchronized boolean isLocked() {
    return hash != null;
  }

  /** Locks with {@code passphrase}; false if already locked. */
  public synchronized boolean lock(byte[] passphrase) {
    if (hash != null) {
      return false;
    }
    salt = new byte[SALT_BYTES];
    random.nextBytes(salt);
    hash = stretch(passphrase, salt);
    failures = 0;
    return true;
  }

  /**
   * Unlocks if {@code passphrase} matches. A wrong passphrase sleeps the calling connection's
   * thread for the growing delay before answering; other connections are not held up.
   */
  public boolean unlock(byte[] passphrase) throws InterruptedException {
    long delayMillis;
    synchronized (this) {
      if (hash == null) {
        return false;
      }
      if (MessageDigest.isEqual(hash, stretch(passphrase, salt))) {
        Arrays.fill(hash, (byte) 0);
        hash = null;
        salt = null;
        failures = 0;
        return true;
      }
      failures = Math.min(failures + 1, 1000);
      delayMillis = Math.min(DELAY_STEP_MILLIS * failures, maxDelay.toMillis());
    }
    Thread.sleep(delayMillis);
    return false;
  }

  synchronized int failures() {
    return failures;
  }

  private static byte[] stretch(byte[] passphrase, byte[] salt) {
    PKCS5S2ParametersGenerator gen = new PKCS5S2ParametersGenerator(new SHA256Digest());
    gen.init(passphrase, salt, ITERATIONS);
    return ((KeyParameter) gen.generateDerivedParameters(256)).getKey();
  }
}
