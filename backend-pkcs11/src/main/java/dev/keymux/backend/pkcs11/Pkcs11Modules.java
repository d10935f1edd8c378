package dev.keymux.backend.pkcs11;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11Module;
import org.xipki.pkcs11.wrapper.Slot;
import org.xipki.pkcs11.wrapper.StaticLogger;
import org.xipki.pkcs11.wrapper.TokenInfo;

/**
 * Loaded PKCS#11 libraries, one per real path: C_Initialize may run only once per process and
 * library, however many backends use it. Each backend holds a {@link Lease}; a library is only
 * re-initialized (which ends every session and login on it) when no other lease holds a session,
 * and never while any call into it runs.
 */
final class Pkcs11Modules {
  private static final Logger log = LoggerFactory.getLogger(Pkcs11Modules.class);
  private static final Map<Path, Loaded> loaded = new HashMap<>(); // guarded by Pkcs11Modules.class

  static {
    // The wrapper's own logger prints a banner and chatty INFO lines; route it to SLF4J DEBUG.
    StaticLogger.setLogger(new org.xipki.pkcs11.wrapper.Logger() {
      private final Logger l = LoggerFactory.getLogger("dev.keymux.backend.pkcs11.wrapper");

      @Override public void info(String f, Object... a) { l.debug(f, a); }
      @Override public void warn(String f, Object... a) { l.debug(f, a); }
      @Override public void error(String f, Object... a) { l.warn(f, a); }
      @Override public void debug(String f, Object... a) { l.trace(f, a); }
      @Override public void trace(String f, Object... a) { l.trace(f, a); }
      @Override public boolean isDebugEnabled() { return l.isTraceEnabled(); }
      @Override public boolean isInfoEnabled() { return l.isDebugEnabled(); }
      @Override public boolean isWarnEnabled() { return l.isDebugEnabled(); }
      @Override public boolean isTraceEnabled() { return l.isTraceEnabled(); }
    });
  }

  private Pkcs11Modules() {}

  /** One library and its users. */
  private static final class Loaded {
    final Path path;
    final PKCS11Module module;
    /**
     * Calls into the library hold it shared; C_Finalize + C_Initialize hold it exclusively, so a
     * re-initialization never pulls the library from under a signature (a crash in native code).
     */
    final ReentrantReadWriteLock calls = new ReentrantReadWriteLock();
    final Set<Lease> leases = ConcurrentHashMap.newKeySet();

    Loaded(Path path, PKCS11Module module) {
      this.path = path;
      this.module = module;
    }
  }

  /**
   * One backend's use of a library. The backend holds {@link #calls()} around every call into
   * the library and reports whether it holds a session, which protects its sessions and login
   * from re-initialization by other backends.
   */
  static final class Lease implements AutoCloseable {
    private final Loaded loaded;
    private volatile boolean holdsSession;

    private Lease(Loaded loaded) {
      this.loaded = loaded;
    }

    PKCS11Module module() {
      return loaded.module;
    }

    /** To hold (shared) around every call into the library. */
    Lock calls() {
      return loaded.calls.readLock();
    }

    /** Whether this user has an open session (and maybe a login) that re-initializing would end. */
    void holdsSession(boolean holds) {
      holdsSession = holds;
    }

    /**
     * Finalizes and initializes the library again: some modules (SoftHSM among them) only see
     * tokens created after C_Initialize, so a token that came back may need it. Done only when
     * no other user holds a session and no call into the library is running (never waits for
     * one); the caller must hold no session itself and not hold {@link #calls()}.
     *
     * @return true when the library was re-initialized
     */
    boolean reinitializeIfUnshared() throws IOException {
      if (holdsSession) {
        throw new IllegalStateException("re-initializing " + loaded.path + " while holding a session on it");
      }
      return reinitializeIfUnused(loaded);
    }

    @Override
    public void close() {
      holdsSession = false;
      loaded.leases.remove(this);
    }
  }

  /** Loads {@code library} (once per process) and registers a new user of it. */
  static Lease lease(Path library) throws IOException {
    Loaded l = load(library);
    Lease lease = new Lease(l);
    l.leases.add(lease);
    return lease;
  }

  /**
   * Finalizes and initializes {@code l} again unless a lease holds a session on it or a call
   * into it runs (never waits for one). The caller must not hold the calls lock.
   */
  private static boolean reinitializeIfUnused(Loaded l) throws IOException {
    if (l.calls.getReadHoldCount() > 0) {
      throw new IllegalStateException("re-initializing " + l.path + " while calling into it");
    }
    if (!l.calls.writeLock().tryLock()) {
      return false; // someone is calling into it: try again later
    }
    try {
      for (Lease lease : l.leases) {
        if (lease.holdsSession) {
          log.debug("not re-initializing {}: a backend holds a session on it", l.path);
          return false;
        }
      }
      try {
        l.module.finalize(null);
      } catch (PKCS11Exception | RuntimeException e) {
        log.debug("C_Finalize of {} failed", l.path, e);
      }
      try {
        l.module.initialize();
      } catch (PKCS11Exception e) {
        throw new IOException(l.path + " failed to initialize again: " + e.getErrorName(), e);
      }
      log.debug("re-initialized PKCS#11 module {} to look for new or returning tokens", l.path);
      return true;
    } finally {
      l.calls.writeLock().unlock();
    }
  }

  /**
   * Labels of the tokens present in {@code library}'s slots (slots that fail to answer are
   * skipped), for ssh-add -s. A library loaded earlier is re-initialized first when nobody holds
   * a session on it, so tokens created since (SoftHSM) are seen.
   */
  static List<String> tokenLabels(Path library) throws IOException {
    Loaded l = load(library);
    reinitializeIfUnused(l);
    l.calls.readLock().lock();
    try {
      List<String> labels = new ArrayList<>();
      for (Slot slot : l.module.getSlotList(true)) {
        TokenInfo info = tokenInfo(slot);
        if (info != null) {
          labels.add(info.getLabel().trim());
        }
      }
      return labels;
    } catch (PKCS11Exception e) {
      throw new IOException(library + ": " + e.getErrorName(), e);
    } finally {
      l.calls.readLock().unlock();
    }
  }

  /**
   * The token information of {@code slot}, or null when the slot does not answer: a token
   * deleted or pulled while the library is initialized can stay listed and fail with
   * CKR_GENERAL_ERROR, which must not hide the other tokens. Caller holds {@link Lease#calls()}.
   */
  static TokenInfo tokenInfo(Slot slot) {
    try {
      return slot.getToken().getTokenInfo();
    } catch (PKCS11Exception | RuntimeException e) {
      log.debug("slot {} does not answer: {}", slot.getSlotID(), e.getMessage());
      return null;
    }
  }

  private static synchronized Loaded load(Path library) throws IOException {
    Path real = library.toRealPath();
    Loaded l = loaded.get(real);
    if (l != null) {
      return l;
    }
    PKCS11Module m;
    try {
      m = PKCS11Module.getInstance(real.toString());
      try {
        m.initialize();
      } catch (PKCS11Exception e) {
        if (e.getErrorCode() != PKCS11Constants.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
          throw e;
        }
      }
    } catch (PKCS11Exception e) {
      throw new IOException(real + " failed to initialize: " + e.getErrorName(), e);
    } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
      throw new IOException(real + " is not a usable PKCS#11 library: " + e.getMessage(), e);
    }
    log.info("loaded PKCS#11 module {}", real);
    l = new Loaded(real, m);
    loaded.put(real, l);
    return l;
  }
}
