package dev.keymux.core.prompt;

import dev.keymux.core.prompt.Terminals.Terminal;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pinentry-curses, spoken to over its stdin and stdout in the Assuan protocol, as gpg-agent does:
 * told which terminal to draw on ({@code OPTION ttyname}, {@code ttytype}, {@code lc-ctype}),
 * what to say ({@code SETDESC}, {@code SETPROMPT}) and for how long ({@code SETTIMEOUT}); then
 * {@code GETPIN} for a secret, answered in {@code D} lines, or {@code CONFIRM} for yes/no,
 * answered {@code OK} or {@code ERR}. The secret arrives as bytes and never becomes a String;
 * of pinentry's answers only its error lines are logged.
 */
final class Pinentry {
  private static final Logger log = LoggerFactory.getLogger(Pinentry.class);
  /** Assuan's longest line (ASSUAN_LINELENGTH), line feed included; longer is a protocol error. */
  static final int MAX_LINE = 1000;
  /** How long after its own timeout pinentry is killed if it has not answered by then. */
  private static final Duration GRACE = Duration.ofSeconds(5);

  private final Path program;
  private final Map<String, String> env;
  private final Duration timeout;
  private final ScheduledExecutorService timer;

  Pinentry(Path program, Map<String, String> env, Duration timeout, ScheduledExecutorService timer) {
    this.program = program;
    this.env = Map.copyOf(env);
    this.timeout = timeout;
    this.timer = timer;
  }

  Path program() {
    return program;
  }

  /** CONFIRM: true only when the user chose OK. */
  boolean confirm(Terminal terminal, String description) {
    Optional<byte[]> answer = converse(terminal, description, null, "CONFIRM");
    answer.ifPresent(a -> Arrays.fill(a, (byte) 0));
    return answer.isPresent();
  }

  /** GETPIN: the secret typed, or empty when cancelled, timed out or failed. The caller wipes it. */
  Optional<byte[]> getPin(Terminal terminal, String description, String prompt) {
    return converse(terminal, description, prompt, "GETPIN");
  }

  private Optional<byte[]> converse(Terminal terminal, String description, String prompt, String command) {
    ProcessBuilder pb = new ProcessBuilder(program.toString());
    pb.environment().clear();
    pb.environment().putAll(env);
    pb.redirectError(ProcessBuilder.Redirect.DISCARD);
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      log.warn("cannot start {}: {}", program, e.getMessage());
      return Optional.empty();
    }
    // pinentry ends itself after SETTIMEOUT; one that hangs anyway is killed, which ends our reads.
    ScheduledFuture<?> watchdog = timer.schedule(() -> kill(p), timeout.plus(GRACE).toMillis(), TimeUnit.MILLISECONDS);
    try (InputStream in = new BufferedInputStream(p.getInputStream()); OutputStream out = p.getOutputStream()) {
      expectOk(in, "greeting", true);
      for (String option : options(terminal)) {
        send(out, option);
        expectOk(in, option, false); // an older pinentry without an option still draws
      }
      send(out, "SETDESC " + escapeWithin(description, MAX_LINE - "SETDESC \n".length()));
      expectOk(in, "SETDESC", true);
      if (prompt != null) {
        send(out, "SETPROMPT " + escapeWithin(prompt, MAX_LINE - "SETPROMPT \n".length()));
        expectOk(in, "SETPROMPT", true);
      }
      send(out, "SETTIMEOUT " + Math.max(1, timeout.toSeconds()));
      expectOk(in, "SETTIMEOUT", false);
      send(out, command);
      Optional<byte[]> answer = answer(in, out);
      send(out, "BYE");
      return answer;
    } catch (IOException e) {
      log.warn("{} ({}) failed: {}", program, command, e.getMessage());
      return Optional.empty();
    } finally {
      watchdog.cancel(false);
      kill(p);
    }
  }

  private static List<String> options(Terminal terminal) {
    List<String> out = new ArrayList<>();
    out.add("OPTION ttyname=" + escape(terminal.device().toString()));
    out.add("OPTION ttytype=" + escape(terminal.type()));
    if (!terminal.ctype().isEmpty()) {
      out.add("OPTION lc-ctype=" + escape(terminal.ctype()));
    }
    return out;
  }

  /**
   * Reads the answer to GETPIN or CONFIRM: the data of its D lines once OK ends it, or empty on
   * ERR (cancelled, not confirmed, timed out). Status and comment lines are skipped; an INQUIRE,
   * which these commands do not need, is cancelled.
   */
  private static Optional<byte[]> answer(InputStream in, OutputStream out) throws IOException {
    byte[] data = new byte[0];
    while (true) {
      byte[] line = readLine(in);
      try {
        if (startsWith(line, "D ")) {
          byte[] more = unescape(line, 2);
          byte[] joined = Arrays.copyOf(data, data.length + more.length);
          System.arraycopy(more, 0, joined, data.length, more.length);
          Arrays.fill(data, (byte) 0);
          Arrays.fill(more, (byte) 0);
          data = joined;
        } else if (isOk(line)) {
          return Optional.of(data);
        } else if (startsWith(line, "ERR")) {
          Arrays.fill(data, (byte) 0);
          log.info("pinentry answered: {}", new String(line, StandardCharsets.UTF_8)); // an error text, never the secret
          return Optional.empty();
        } else if (startsWith(line, "INQUIRE")) {
          send(out, "CAN");
        }
      } finally {
        Arrays.fill(line, (byte) 0);
      }
    }
  }

  /** Reads one reply; an ERR is fatal when {@code required}, else only logged. */
  private static void expectOk(InputStream in, String what, boolean required) throws IOException {
    while (true) {
      byte[] line = readLine(in);
      if (isOk(line)) {
        return;
      }
      if (startsWith(line, "ERR")) {
        String err = new String(line, StandardCharsets.UTF_8);
        if (required) {
          throw new IOException(what + ": " + err);
        }
        log.debug("pinentry: {}: {}", what, err);
        return;
      }
      // S (status) and # (comment) lines precede the answer
    }
  }

  private static boolean isOk(byte[] line) {
    return (line.length == 2 && startsWith(line, "OK")) || startsWith(line, "OK ");
  }

  private static boolean startsWith(byte[] line, String prefix) {
    if (line.length < prefix.length()) {
      return false;
    }
    for (int i = 0; i < prefix.length(); i++) {
      if (line[i] != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static void send(OutputStream out, String line) throws IOException {
    byte[] b = (line + "\n").getBytes(StandardCharsets.UTF_8);
    if (b.length > MAX_LINE) {
      throw new IOException("an Assuan line longer than " + MAX_LINE + " bytes");
    }
    out.write(b);
    out.flush();
  }

  /** One line without its line feed; the caller wipes it (it may hold the secret). */
  private static byte[] readLine(InputStream in) throws IOException {
    byte[] buf = new byte[MAX_LINE];
    int n = 0;
    try {
      while (true) {
        int c = in.read();
        if (c < 0) {
          throw new IOException("pinentry ended the conversation");
        }
        if (c == '\n') {
          return Arrays.copyOf(buf, n);
        }
        if (n == buf.length) {
          throw new IOException("pinentry sent a line longer than " + MAX_LINE + " bytes");
        }
        buf[n++] = (byte) c;
      }
    } finally {
      Arrays.fill(buf, (byte) 0);
    }
  }

  /** Assuan's escaping of a parameter: '%', CR, LF and other control characters as %XX. */
  static String escape(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '%' || c < 0x20 || c == 0x7f) {
        out.append('%').append(String.format("%02X", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /**
   * {@link #escape escaped} {@code text} in at most {@code maxBytes} bytes of UTF-8: cut short
   * with "…" when longer, so that a long question (many destination names, a long path) is still
   * shown rather than refused as an overlong Assuan line.
   */
  static String escapeWithin(String text, int maxBytes) {
    String escaped = escape(text);
    if (escaped.getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
      return escaped;
    }
    String ellipsis = "…";
    int budget = maxBytes - ellipsis.getBytes(StandardCharsets.UTF_8).length;
    StringBuilder out = new StringBuilder();
    int bytes = 0;
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      String one = escape(new String(Character.toChars(cp)));
      int n = one.getBytes(StandardCharsets.UTF_8).length;
      if (bytes + n > budget) {
        break;
      }
      out.append(one);
      bytes += n;
      i += Character.charCount(cp);
    }
    return out.append(ellipsis).toString();
  }

  /** Undoes %XX escapes in {@code line} from {@code from} on; a broken escape is kept as it is. */
  static byte[] unescape(byte[] line, int from) {
    byte[] out = new byte[line.length - from];
    int n = 0;
    for (int i = from; i < line.length; i++) {
      int hi;
      int lo;
      if (line[i] == '%' && i + 2 < line.length && (hi = Character.digit(line[i + 1], 16)) >= 0
          && (lo = Character.digit(line[i + 2], 16)) >= 0) {
        out[n++] = (byte) (hi << 4 | lo);
        i += 2;
      } else {
        out[n++] = line[i];
      }
    }
    byte[] result = Arrays.copyOf(out, n);
    Arrays.fill(out, (byte) 0);
    return result;
  }

  private static void kill(Process p) {
    if (p.isAlive()) {
      p.destroyForcibly();
    }
  }
}
