package dev.keymux.backend.pkcs11;

import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Backend;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.agent.ProviderAllowlist;
import dev.keymux.core.agent.Session;
import dev.keymux.core.wire.AgentRequest.AddSmartcardKey;
import dev.keymux.core.wire.AgentRequest.RemoveSmartcardKey;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tokens loaded on a client's request ({@code ssh-add -s MODULE}, removed with {@code -e}),
 * as OpenSSH's agent does: the library's real path must be on the allowlist, a connection that
 * sent any session-bind may not load libraries (CVE-2023-38408), and the PIN the client sent logs in at
 * once and is then wiped.
 */
final class Pkcs11ProvidersBackend implements Backend {
  private static final Logger log = LoggerFactory.getLogger(Pkcs11ProvidersBackend.class);

  private final String name;
  private final ProviderAllowlist allowlist;
  private final Map<Path, List<Pkcs11Backend>> providers = new LinkedHashMap<>(); // guarded by this

  Pkcs11ProvidersBackend(String name, ProviderAllowlist allowlist) {
    this.name = name;
    this.allowlist = allowlist;
  }

  @Override
  public String name() {
    return name;
  }

  private synchronized List<Pkcs11Backend> tokens() {
    List<Pkcs11Backend> all = new ArrayList<>();
    providers.values().forEach(all::addAll);
    return all;
  }

  @Override
  public List<Identity> list(Session session) {
    List<Identity> out = new ArrayList<>();
    for (Pkcs11Backend t : tokens()) {
      t.list(session).forEach(id -> out.add(id.withBackend(name)));
    }
    return out;
  }

  @Override
  public byte[] sign(Session session, KeyBlob key, byte[] data, int flags) throws AgentException {
    for (Pkcs11Backend t : tokens()) {
      if (t.list(session).stream().anyMatch(id -> id.key().equals(key))) {
        return t.sign(session, key, data, flags);
      }
    }
    throw AgentException.failed("key not on any token added with ssh-add -s");
  }

  @Override
  public String keyState(KeyBlob key) {
    for (Pkcs11Backend t : tokens()) {
      String s = t.keyState(key);
      if (!s.isEmpty()) {
        return s;
      }
    }
    return "";
  }

  @Override
  public void addSmartcard(Session session, AddSmartcardKey request) throws AgentException {
    char[] pin = chars(request.pin());
    try {
      // As OpenSSH's socket_is_remote: any session-bind, even a refused one, means the client
      // came through ssh (forwarded or authenticating), and such clients may not load libraries.
      if (session.bindAttempted() || !session.bindings().isEmpty()) {
        throw AgentException.failed("refusing to load PKCS#11 provider " + request.provider()
            + " over a forwarded or ssh-bound connection (session-bind seen; CVE-2023-38408)");
      }
      if (!request.constraints().isEmpty()) {
        throw AgentException.failed("constraints on PKCS#11 keys (ssh-add -s with -t/-c/-h) are not supported yet; nothing added");
      }
      Path real = allowlist.check(request.provider());
      synchronized (this) {
        if (providers.containsKey(real)) {
          throw AgentException.failed("PKCS#11 provider " + real + " is already added");
        }
      }
      List<String> labels;
      try {
        labels = Pkcs11Modules.tokenLabels(real);
      } catch (IOException e) {
        throw AgentException.failed(e.getMessage());
      }
      if (labels.isEmpty()) {
        throw AgentException.failed("PKCS#11 provider " + real + " shows no token");
      }
      List<Pkcs11Backend> added = new ArrayList<>();
      AgentException firstFailure = null;
      for (String label : labels) {
        Pkcs11Backend token = new Pkcs11Backend(name + ":" + label, Pkcs11Settings.added(real.toString(), label),
            (l, hint) -> Optional.empty(), false);
        try {
          token.addWithPin(pin.clone());
          added.add(token);
        } catch (AgentException e) {
          token.close();
          firstFailure = firstFailure == null ? e : firstFailure;
        }
      }
      if (added.isEmpty()) {
        throw firstFailure;
      }
      synchronized (this) {
        providers.put(real, added);
      }
      log.info("backend {}: added PKCS#11 provider {} ({} token(s))", name, real, added.size());
    } finally {
      Arrays.fill(pin, '\0');
    }
  }

  @Override
  public void removeSmartcard(Session session, RemoveSmartcardKey request) throws AgentException {
    Path path;
    try {
      path = Path.of(request.provider()).toRealPath();
    } catch (IOException e) {
      path = Path.of(request.provider());
    }
    List<Pkcs11Backend> removed;
    synchronized (this) {
      removed = providers.remove(path);
    }
    if (removed == null) {
      throw AgentException.failed("PKCS#11 provider " + request.provider() + " was not added");
    }
    removed.forEach(Pkcs11Backend::close);
    log.info("backend {}: removed PKCS#11 provider {}", name, path);
  }

  /** ssh-add -D removes token keys too, as in OpenSSH. */
  @Override
  public void removeAll(Session session) {
    List<Pkcs11Backend> all;
    synchronized (this) {
      all = tokens();
      providers.clear();
    }
    all.forEach(Pkcs11Backend::close);
  }

  @Override
  public void close() {
    removeAll(null);
  }

  private static char[] chars(byte[] utf8) {
    CharBuffer cb = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(utf8));
    char[] out = Arrays.copyOf(cb.array(), cb.limit());
    Arrays.fill(cb.array(), '\0');
    return out;
  }
}
