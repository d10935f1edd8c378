package dev.keymux.config.policy;

import dev.keymux.core.agent.Session;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per signature request: time, socket, client program, pid and uid, key fingerprint,
 * backend, destination, decision and outcome. Never the data being signed. Off, to stderr
 * ({@code "-"}) or appended to a file created 0600.
 */
public final class AuditLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AuditLog.class);
  public static final AuditLog OFF = new AuditLog(null, Clock.systemUTC());

  private final PrintStream out;
  private final Clock clock;

  private AuditLog(PrintStream out, Clock clock) {
    this.out = out;
    this.clock = clock;
  }

  /** {@code ""} = off, {@code "-"} = stderr, else a file path. */
  public static AuditLog open(String target, Clock clock) throws IOException {
    if (target.isEmpty()) {
      return OFF;
    }
    if (target.equals("-")) {
      return new AuditLog(System.err, clock);
    }
    Path file = Path.of(target);
    if (!Files.exists(file)) {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }
    OutputStream os = Files.newOutputStream(file, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    return new AuditLog(new PrintStream(os, true, StandardCharsets.UTF_8), clock);
  }

  void record(Session session, Facts base, KeyFacts key, String backend, String decision, String rule, String failure) {
    if (out == null) {
      return;
    }
    ClientInfo c = base.client().get();
    List<String> hosts = base.hostKey() == null ? List.of() : base.knownHosts().namesOf(base.hostKey());
    String line = Instant.now(clock).truncatedTo(ChronoUnit.MILLIS) + " sign"
        + " socket=" + base.socket()
        + " uid=" + base.uid()
        + " pid=" + session.peer().pid()
        + " exe=" + quote(c.exe().isEmpty() ? c.name() : c.exe())
        + " key=" + key.sha256()
        + " comment=" + quote(String.join(",", key.comments()))
        + " backend=" + (backend == null ? "-" : backend)
        + " destination=" + (base.hostKey() == null ? "-" : quote(hosts.isEmpty() ? "unknown-host" : String.join(",", hosts)))
        + (base.forwarded() ? " forwarded" : "")
        + " decision=" + decision
        + " rule=" + quote(rule)
        + " result=" + (failure == null ? (backend == null ? "refused" : "signed") : "failed:" + quote(failure));
    synchronized (this) {
      out.println(line);
      if (out.checkError()) {
        log.warn("the audit log could not be written");
      }
    }
  }

  private static String quote(String s) {
    return s.isEmpty() || s.chars().anyMatch(ch -> ch <= ' ' || ch == '"') ? "\"" + s.replace("\"", "'") + "\"" : s;
  }

  @Override
  public void close() {
    if (out != null && out != System.err) {
      out.close();
    }
  }
}
