package dev.keymux.backend.pkcs11;

import dev.keymux.core.concurrent.DaemonThreads;
import dev.keymux.core.keys.SshSignatures;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.*;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Health;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.Session;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.SshWriter;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11Module;
import org.xipki.pkcs11.wrapper.Slot;
import org.xipki.pkcs11.wrapper.Token;
import org.xipki.pkcs11.wrapper.TokenException;
import org.xipki.pkcs11.wrapper.TokenInfo;

/**
 * Keys on PKCS#11 tokens. Keys are listed from public key objects (no PIN needed) and cached;
 * list serves the cache and, at most once per {@link #CHECK_MILLIS} and only when no signature
 * holds the token, checks that the token is still there and re-reads its keys, so a removed
 * token's keys vanish and keys added to a present token appear without a signature failing
 * first. Signing logs in once (PIN from the configured source, never retried automatically:
 * tokens lock after a few wrong PINs) and is serialized per token. A token error that means
 * "gone" (removed, not present, handles invalid) drops the token; list looks for it again every
 * {@link #RESCAN_MILLIS} — no restart.
 */
final class Pkcs11Backend implements Backend {
  private static final Logger log = LoggerFactory.getLogger(Pkcs11Backend.class);
  /** Errors after which the token is treated as gone and re-enumerated. */
  private static final Set<Long> GONE = Set.of(CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID,
      CKR_OBJECT_HANDLE_INVALID, CKR_GENERAL_ERROR, CKR_DEVICE_ERROR, CKR_SLOT_ID_INVALID);
  /** How often list checks a present token (presence, keys added or removed). */
  static final long CHECK_MILLIS = 1000;
  /** How often list looks for a missing token (this may re-initialize the library). */
  static final long RESCAN_MILLIS = 2000;
  private static final java.util.concurrent.ScheduledExecutorService LOGOUTS =
      DaemonThreads.scheduler("keymux-pkcs11-logout");

  private final String name;
  private final Pkcs11Settings settings;
  private final PinSource pins;
  /** One session, one signer at a time per token; list only ever tries it. */
  private final ReentrantLock tokenLock = new ReentrantLock();

  // guarded by tokenLock
  private Pkcs11Modules.Lease lease;
  private volatile Token token; // read without the lock by list()
  private volatile String tokenLabel = ""; // read without the lock by keyState()
  private org.xipki.pkcs11.wrapper.Session session;
  private boolean loggedIn;
  private long logins; // guarded by tokenLock: which login a pin-cache timer belongs to
  private volatile Map<KeyBlob, TokenKey> keys = Map.of();
  private volatile List<Identity> identities = List.of();
  private volatile long lastScan;
  private volatile Health health = Health.ok();

  private final boolean logoutOnLock;

  /**
   * @param logoutOnLock log out of the token when keymux is locked, so the PIN is asked again;
   *     false for tokens added with ssh-add -s, whose PIN keymux does not keep
   */
  Pkcs11Backend(String name, Pkcs11Settings settings, PinSource pins, boolean logoutOnLock) {
    this.name = name;
    this.settings = settings;
    this.pins = pins;
    this.logoutOnLock = logoutOnLock;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Health health() {
    return health;
  }

  @Override
  public List<Identity> list(Session s) {
    // Served from the cache. A check or rescan when due, and never waiting for the token: while
    // a signature (or its PIN prompt) holds it, the cache is the answer.
    if (checkDue() && tokenLock.tryLock()) {
      try {
        if (checkDue()) {
          if (token == null) {
            scan();
          } else {
            check();
          }
        }
      } catch (RuntimeException e) {
        // A bug or a library misbehaving: this backend is down, the agent keeps serving the rest.
        lastScan = System.currentTimeMillis();
        log.debug("backend {}: looking at the token failed", name, e);
        clear();
        setHealth(Health.down("looking at the token failed: " + e));
      } finally {
        tokenLock.unlock();
      }
    }
    return identities;
  }

  private boolean checkDue() {
    return System.currentTimeMillis() - lastScan >= (token == null ? RESCAN_MILLIS : CHECK_MILLIS);
  }

  /**
   * Checks that the token is still there (C_GetTokenInfo fails once it is gone, and the slot may
   * hold another token now) and re-reads its keys. Caller holds tokenLock; the token is set.
   */
  private void check() {
    lastScan = System.currentTimeMillis();
    boolean replaced = false;
    lease.calls().lock();
    try {
      TokenInfo info = token.getTokenInfo();
      if (!info.getLabel().trim().equals(tokenLabel)) {
        log.warn("backend {}: token '{}' was replaced by '{}'", name, tokenLabel, info.getLabel().trim());
        clear();
        replaced = true;
      } else {
        List<String> skipped = new ArrayList<>();
        Map<KeyBlob, TokenKey> next = readKeys(session, skipped);
        if (!identitiesOf(next).equals(identities)) {
          skipped.forEach(w -> log.warn("backend {}: {}", name, w));
          offer(next);
        }
      }
    } catch (PKCS11Exception e) {
      if (GONE.contains(e.getErrorCode())) {
        withdraw(e);
      } else {
        log.debug("backend {}: checking token '{}' failed: {}", name, tokenLabel, errorName(e));
      }
    } catch (TokenException e) {
      log.debug("backend {}: checking token '{}' failed: {}", name, tokenLabel, e.getMessage());
    } finally {
      lease.calls().unlock();
    }
    if (replaced) {
      scan();
    }
  }

  /** The token is gone: its keys are withdrawn until a scan finds it again. Caller holds tokenLock. */
  private void withdraw(TokenException why) {
    clear();
    setHealth(Health.down("token '" + tokenLabel + "' is gone (" + errorName(why) + "); its keys are withdrawn until it returns"));
    lastScan = 0; // the next list looks for it at once (a reset reader may show it again)
  }

  private List<Identity> identitiesOf(Map<KeyBlob, TokenKey> keys) {
    List<Identity> ids = new ArrayList<>();
    keys.values().forEach(k -> ids.add(new Identity(k.blob(), k.label(), name)));
    return List.copyOf(ids);
  }

  /** Caller holds tokenLock. */
  private void offer(Map<KeyBlob, TokenKey> next) {
    keys = Map.copyOf(next);
    identities = identitiesOf(next);
    log.info("backend {}: token '{}' offers {} key(s)", name, tokenLabel, next.size());
  }

  /**
   * Finds the token and reads its public keys. A token not found may be one the library only
   * sees after a re-initialization (SoftHSM), which is done only when no other backend of the
   * library holds a session. Caller holds tokenLock.
   */
  private void scan() {
    lastScan = System.currentTimeMillis();
    try {
      if (lease == null) {
        lease = Pkcs11Modules.lease(Path.of(settings.module()));
      }
      if (!findToken() && lease.reinitializeIfUnshared()) {
        findToken();
      }
    } catch (IOException e) {
      setHealth(Health.down(e.getMessage()));
      clear();
    }
  }

  /** True when the token was found and its keys read. Caller holds tokenLock and no session. */
  private boolean findToken() {
    lease.calls().lock();
    try {
      Token found = null;
      for (Slot slot : lease.module().getSlotList(true)) {
        TokenInfo info = Pkcs11Modules.tokenInfo(slot);
        if (info == null) {
          continue;
        }
        String label = info.getLabel().trim();
        if (settings.token().isEmpty() || settings.token().equals(label) || settings.token().equals(info.getSerialNumber().trim())) {
          found = slot.getToken();
          tokenLabel = label;
          break;
        }
      }
      if (found == null) {
        setHealth(Health.down("token " + (settings.token().isEmpty() ? "" : "'" + settings.token() + "' ") + "not present"));
        clear();
        return false;
      }
      org.xipki.pkcs11.wrapper.Session s = found.openSession(false);
      token = found;
      session = s;
      lease.holdsSession(true);
      loggedIn = false;
      List<String> skipped = new ArrayList<>();
      Map<KeyBlob, TokenKey> next = readKeys(s, skipped);
      skipped.forEach(w -> log.warn("backend {}: {}", name, w));
      offer(next);
      setHealth(Health.ok());
      return true;
    } catch (TokenException e) {
      setHealth(Health.down("token error " + errorName(e)));
      clear();
      return false;
    } finally {
      lease.calls().unlock();
    }
  }

  /**
   * The keys the token offers, as the settings select them; why others were skipped goes to
   * {@code skipped} (logged by the caller when the keys changed, not on every check). Caller holds
   * the library's calls lock.
   */
  private Map<KeyBlob, TokenKey> readKeys(org.xipki.pkcs11.wrapper.Session s, List<String> skipped) throws TokenException {
    Map<KeyBlob, TokenKey> next = new LinkedHashMap<>();
    for (long handle : s.findObjectsSingle(new AttributeVector().class_(CKO_PUBLIC_KEY), 1024)) {
      try {
        TokenKey k = readPublicKey(s, handle);
        if (settings.selects(k.label(), HexFormat.of().formatHex(k.id()))) {
          next.putIfAbsent(k.blob(), k);
        }
      } catch (IllegalArgumentException e) {
        skipped.add("skipping a key on token '" + tokenLabel + "': " + e.getMessage());
      }
    }
    // Tokens such as YubiKey PIV may hold a key's public half only inside an X.509
    // certificate: offer those keys too, as OpenSSH's ssh-pkcs11 does.
    for (long handle : s.findObjectsSingle(new AttributeVector().class_(CKO_CERTIFICATE).certificateType(CKC_X_509), 1024)) {
      try {
        AttributeVector a = s.getAttrValues(handle, CKA_ID, CKA_LABEL, CKA_VALUE);
        byte[] id = a.id() == null ? new byte[0] : a.id();
        String label = a.label() == null ? HexFormat.of().formatHex(id) : a.label();
        TokenKey k = TokenKey.fromCertificate(id, label, a.value());
        if (settings.selects(k.label(), HexFormat.of().formatHex(id)) && !next.containsKey(k.blob())) {
          next.put(k.blob(), k);
        }
      } catch (IllegalArgumentException e) {
        skipped.add("skipping a certificate on token '" + tokenLabel + "': " + e.getMessage());
      }
    }
    return next;
  }

  private void setHealth(Health h) {
    if (!h.equals(health)) {
      if (h.up()) {
        log.info("backend {}: token available", name);
      } else {
        log.warn("backend {}: {}", name, h.detail());
      }
    }
    health = h;
  }

  private static TokenKey readPublicKey(org.xipki.pkcs11.wrapper.Session s, long handle) throws TokenException {
    AttributeVector a = s.getAttrValues(handle, CKA_KEY_TYPE, CKA_ID, CKA_LABEL);
    long type = a.keyType();
    byte[] id = a.id() == null ? new byte[0] : a.id();
    String label = a.label() == null ? HexFormat.of().formatHex(id) : a.label();
    if (type == CKK_RSA) {
      AttributeVector r = s.getAttrValues(handle, CKA_MODULUS, CKA_PUBLIC_EXPONENT);
      if (r.modulus().bitLength() < 2048) {
        throw new IllegalArgumentException("RSA key '" + label + "' of " + r.modulus().bitLength() + " bits is too weak");
      }
      return TokenKey.rsa(id, label, r.modulus(), r.publicExponent());
    }
    if (type == CKK_EC || type == CKK_EC_EDWARDS) {
      AttributeVector e = s.getAttrValues(handle, CKA_EC_PARAMS, CKA_EC_POINT);
      return TokenKey.ec(id, label, e.ecParams(), e.ecPoint(), type == CKK_EC_EDWARDS);
    }
    throw new IllegalArgumentException("key '" + label + "' has an unsupported type (" + type + ")");
  }

  /** Caller holds tokenLock. */
  private void clear() {
    if (session != null) {
      lease.calls().lock();
      try {
        session.closeSession();
      } catch (TokenException | RuntimeException ignored) {
        // the token may already be gone
      } finally {
        lease.calls().unlock();
      }
    }
    if (lease != null) {
      lease.holdsSession(false);
    }
    token = null;
    session = null;
    loggedIn = false;
    keys = Map.of();
    identities = List.of();
  }

  @Override
  public byte[] sign(Session s, KeyBlob blob, byte[] data, int flags) throws AgentException {
    TokenKey key = keys.get(blob);
    if (key == null) {
      throw AgentException.failed("key not on token of " + name);
    }
    tokenLock.lock();
    try {
      if (token == null) {
        throw AgentException.failed("token of " + name + " is not present");
      }
      Pkcs11Modules.Lease l = lease; // set while the token is
      l.calls().lock();
      try {
        for (int attempt = 1; ; attempt++) {
          // A token's login belongs to the process, shared by every session on it: another
          // backend of the same token (ssh-add -e, its pin-cache, keymux locked) may have ended it.
          if (loggedIn && !sessionLoggedIn()) {
            log.info("backend {}: the login to token '{}' was ended by another backend of the same token", name, tokenLabel);
            loggedIn = false;
          }
          login(s);
          try {
            return signWith(key, data, flags);
          } catch (PKCS11Exception e) {
            if (e.getErrorCode() != CKR_USER_NOT_LOGGED_IN || attempt > 1) {
              throw e;
            }
            loggedIn = false; // ended between the check and the signature: log in again, once
          }
        }
      } catch (PKCS11Exception e) {
        if (e.getErrorCode() == CKR_PIN_INCORRECT) {
          loggedIn = false;
          throw AgentException.failed("wrong PIN for token '" + tokenLabel + "' from " + pins.describe()
              + " (not retried: tokens lock after a few wrong PINs)");
        }
        if (e.getErrorCode() == CKR_PIN_LOCKED) {
          throw AgentException.failed("token '" + tokenLabel + "' PIN is locked; unblock it with the token's tools");
        }
        if (GONE.contains(e.getErrorCode())) {
          withdraw(e);
        }
        throw AgentException.failed("token '" + tokenLabel + "' refused to sign: " + errorName(e));
      } catch (TokenException e) {
        throw AgentException.failed("token '" + tokenLabel + "' failed: " + e.getMessage());
      } finally {
        l.calls().unlock();
      }
    } finally {
      tokenLock.unlock();
    }
  }

  /** Caller holds tokenLock and the library's calls lock; the token is set. */
  private byte[] signWith(TokenKey key, byte[] data, int flags) throws TokenException, AgentException {
    long[] priv = session.findObjectsSingle(new AttributeVector().class_(CKO_PRIVATE_KEY).id(key.id()), 2);
    if (priv.length == 0) {
      token.getTokenInfo(); // a token deleted while logged in shows no objects: is it still there?
      throw AgentException.failed("no private key with the id of '" + key.label() + "' on token '" + tokenLabel + "'");
    }
    return sshSignature(key, priv[0], data, flags);
  }

  /** Whether this backend's session is in a user state. Caller holds the library's calls lock. */
  private boolean sessionLoggedIn() throws TokenException {
    long state = session.getSessionInfo().getState();
    return state == CKS_RO_USER_FUNCTIONS || state == CKS_RW_USER_FUNCTIONS;
  }

  /**
   * For {@code ssh-add -s}: finds the token and logs in with the PIN the client sent, at once, so
   * a wrong PIN fails the add (as in OpenSSH) rather than a later signature. The PIN is wiped.
   *
   * <p>A token another backend of keymux is logged in to is refused: C_Login would answer
   * CKR_USER_ALREADY_LOGGED_IN whatever the PIN, and the only way to check the PIN — logging out
   * first — would end the other backend's login. Its keys are served by that backend already.
   */
  void addWithPin(char[] pin) throws AgentException {
    tokenLock.lock();
    try {
      if (token == null) {
        scan();
      }
      if (token == null) {
        throw AgentException.failed(health.detail());
      }
      lease.calls().lock();
      try {
        if (sessionLoggedIn()) {
          throw alreadyLoggedIn();
        }
        try {
          session.login(CKU_USER, pin);
        } catch (PKCS11Exception e) {
          if (e.getErrorCode() == CKR_USER_ALREADY_LOGGED_IN) {
            throw alreadyLoggedIn();
          }
          throw e;
        }
        loggedIn();
      } finally {
        lease.calls().unlock();
      }
    } catch (PKCS11Exception e) {
      if (e.getErrorCode() == CKR_PIN_INCORRECT) {
        throw AgentException.failed("wrong PIN for token '" + tokenLabel + "'");
      }
      throw AgentException.failed("token '" + tokenLabel + "': " + errorName(e));
    } catch (TokenException e) {
      throw AgentException.failed("token '" + tokenLabel + "': " + e.getMessage());
    } finally {
      Arrays.fill(pin, '\0');
      tokenLock.unlock();
    }
  }

  private AgentException alreadyLoggedIn() {
    return AgentException.failed("token '" + tokenLabel + "' is already logged in by another keymux backend, so the PIN sent"
        + " with ssh-add -s cannot be checked; not added (that backend serves its keys)");
  }

  /**
   * Logs in with a PIN from the configured source. CKR_USER_ALREADY_LOGGED_IN means another
   * backend of this process logged in to the same token; its login serves this backend too.
   */
  private void loginWith(char[] p) throws TokenException {
    try {
      session.login(CKU_USER, p);
    } catch (PKCS11Exception e) {
      if (e.getErrorCode() != CKR_USER_ALREADY_LOGGED_IN) {
        throw e;
      }
    }
    loggedIn();
  }

  /** Records a login and starts its pin-cache timer. Caller holds tokenLock. */
  private void loggedIn() {
    loggedIn = true;
    long generation = ++logins;
    log.info("backend {}: logged in to token '{}'", name, tokenLabel);
    if (!settings.pinCache().isZero()) {
      LOGOUTS.schedule(() -> {
        tokenLock.lock();
        try {
          if (logins == generation) { // not a newer login
            logout();
          }
        } finally {
          tokenLock.unlock();
        }
      }, settings.pinCache().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }
  }

  /** Ends the login (pin-cache elapsed or keymux locked): the next signature asks for the PIN. */
  private void logout() {
    tokenLock.lock();
    try {
      if (session != null && loggedIn) {
        lease.calls().lock();
        try {
          session.logout();
        } catch (TokenException | RuntimeException e) {
          log.debug("logout failed", e);
        } finally {
          lease.calls().unlock();
        }
        loggedIn = false;
        log.info("backend {}: logged out of token '{}'", name, tokenLabel);
      }
    } finally {
      tokenLock.unlock();
    }
  }

  /** Caller holds tokenLock and the library's calls lock. */
  private void login(Session session) throws TokenException, AgentException {
    if (loggedIn) {
      return;
    }
    if (sessionLoggedIn()) {
      // Another backend of this process logged in to the same token: that login is ours too
      // (PKCS#11 logins belong to the application), so nobody is asked for the PIN again.
      loggedIn = true;
      log.info("backend {}: token '{}' is logged in already (by another backend of the same token)", name, tokenLabel);
      return;
    }
    TokenInfo info = token.getTokenInfo();
    String hint = "";
    if ((info.getFlags() & CKF_USER_PIN_FINAL_TRY) != 0) {
      hint = " (final try before the PIN locks)";
    } else if ((info.getFlags() & CKF_USER_PIN_COUNT_LOW) != 0) {
      hint = " (few tries left)";
    }
    Optional<char[]> pin;
    try {
      pin = pins.pin(tokenLabel, hint, session);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw AgentException.failed("interrupted while asking for the PIN");
    } catch (IllegalStateException e) {
      throw AgentException.failed(e.getMessage());
    }
    if (pin.isEmpty()) {
      throw AgentException.failed("PIN for token '" + tokenLabel + "' was not given (prompt cancelled or no PIN source)");
    }
    char[] p = pin.get();
    try {
      loginWith(p);
    } catch (PKCS11Exception e) {
      if (e.getErrorCode() == CKR_PIN_INCORRECT) {
        pins.rejected(); // env, file, keyring: not sent again
      }
      throw e;
    } finally {
      Arrays.fill(p, '\0');
    }
  }

  private byte[] sshSignature(TokenKey key, long handle, byte[] data, int flags) throws TokenException {
    SshWriter w = new SshWriter();
    switch (key.kind()) {
      case ED25519: {
        byte[] sig = session.signSingle(new Mechanism(CKM_EDDSA), handle, data);
        return w.writeString("ssh-ed25519").writeString(sig).toByteArray();
      }
      case ECDSA: {
        String alg = switch (key.curve()) {
          case "nistp256" -> "SHA-256";
          case "nistp384" -> "SHA-384";
          default -> "SHA-512";
        };
        byte[] rs = session.signSingle(new Mechanism(CKM_ECDSA), handle, digest(alg, data));
        int half = rs.length / 2;
        BigInteger r = new BigInteger(1, Arrays.copyOfRange(rs, 0, half));
        BigInteger sv = new BigInteger(1, Arrays.copyOfRange(rs, half, rs.length));
        byte[] inner = new SshWriter().writeMpint(r).writeMpint(sv).toByteArray();
        return w.writeString("ecdsa-sha2-" + key.curve()).writeString(inner).toByteArray();
      }
      default: {
        // DigestInfo prefixes (RFC 8017 §9.2, note 1) for CKM_RSA_PKCS, which signs what it is given.
        String algorithm = SshSignatures.rsaAlgorithm(flags);
        String hash;
        byte[] prefix;
        switch (algorithm) {
          case "rsa-sha2-256" -> {
            hash = "SHA-256";
            prefix = HexFormat.of().parseHex("3031300d060960864801650304020105000420");
          }
          case "rsa-sha2-512" -> {
            hash = "SHA-512";
            prefix = HexFormat.of().parseHex("3051300d060960864801650304020305000440");
          }
          default -> {
            hash = "SHA-1";
            prefix = HexFormat.of().parseHex("3021300906052b0e03021a05000414");
          }
        }
        byte[] h = digest(hash, data);
        byte[] digestInfo = Arrays.copyOf(prefix, prefix.length + h.length);
        System.arraycopy(h, 0, digestInfo, prefix.length, h.length);
        byte[] sig = session.signSingle(new Mechanism(CKM_RSA_PKCS), handle, digestInfo);
        if (sig.length < key.modulusBytes()) { // RFC 8332: exactly the modulus length
          byte[] padded = new byte[key.modulusBytes()];
          System.arraycopy(sig, 0, padded, padded.length - sig.length, sig.length);
          sig = padded;
        }
        return w.writeString(algorithm).writeString(sig).toByteArray();
      }
    }
  }

  private static byte[] digest(String alg, byte[] data) {
    try {
      return MessageDigest.getInstance(alg).digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String errorName(TokenException e) {
    return e instanceof PKCS11Exception p ? p.getErrorName() : String.valueOf(e.getMessage());
  }

  /** Called on ssh-add -x: log out so the PIN is needed again after unlock. */
  @Override
  public void onLock() {
    if (logoutOnLock) {
      logout();
    }
  }

  @Override
  public void removeAll(Session s) {
    onLock();
  }

  @Override
  public String keyState(KeyBlob key) {
    return keys.containsKey(key) ? "token '" + tokenLabel + "'" + (loggedIn ? ", logged in" : "") : "";
  }

  @Override
  public void close() {
    tokenLock.lock();
    try {
      clear();
      if (lease != null) {
        lease.close();
        lease = null;
      }
    } finally {
      tokenLock.unlock();
    }
  }
}
