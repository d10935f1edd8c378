package dev.keymux.backend.pkcs11;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11Module;
import org.xipki.pkcs11.wrapper.StaticLogger;

/**
 * Loaded PKCS#11 libraries, one per real path: C_Initialize may run only once per process and
 * library, however many backends use it.
 */
final class Pkcs11Modules {
  private static final Logger log = LoggerFactory.getLogger(Pkcs11Modules.class);
  private static final Map<Path, PKCS11Module> loaded = new HashMap<>();

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

  /**
   * Finalizes and initializes the library again. Some modules (SoftHSM among them) only see
   * tokens created or re-created after C_Initialize; a token that came back needs this.
   */
  static synchronized void reinitialize(Path library) throws IOException {
    Path real = library.toRealPath();
    PKCS11Module m = loaded.get(real);
    if (m == null) {
      return;
    }
    try {
      m.finalize(null);
    } catch (PKCS11Exception | RuntimeException e) {
      log.debug("C_Finalize of {} failed", real, e);
    }
    try {
      m.initialize();
    } catch (PKCS11Exception e) {
      throw new IOException(real + " failed to initialize again: " + e.getErrorName(), e);
    }
    log.info("re-initialized PKCS#11 module {} to look for returning tokens", real);
  }

  /** Labels of the tokens present in {@code library}'s slots. */
  static synchronized java.util.List<String> tokenLabels(Path library) throws IOException {
    try {
      java.util.List<String> labels = new java.util.ArrayList<>();
      for (org.xipki.pkcs11.wrapper.Slot slot : get(library).getSlotList(true)) {
        labels.add(slot.getToken().getTokenInfo().getLabel().trim());
      }
      return labels;
    } catch (PKCS11Exception e) {
      throw new IOException(library + ": " + e.getErrorName(), e);
    }
  }

  static synchronized PKCS11Module get(Path library) throws IOException {
    Path real = library.toRealPath();
    PKCS11Module m = loaded.get(real);
    if (m != null) {
      return m;
    }
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
    loaded.put(real, m);
    return m;
  }
}
