package dev.keymux.core.prompt;

import dev.keymux.core.concurrent.DaemonThreads;
import dev.keymux.core.agent.Session;
import dev.keymux.core.prompt.Terminals.Terminal;
import dev.keymux.core.server.Posix;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The prompt layer: chooses, per question, where it is asked according to {@code keymux.prompt}.
 * <ul>
 *   <li>{@code auto}: the askpass program when OpenSSH would run one (a display, or
 *       SSH_ASKPASS_REQUIRE=force); otherwise a terminal — pinentry-curses when it is on PATH, a
 *       plain prompt when not.
 *   <li>{@code askpass}, {@code pinentry}, {@code tty}: only that way.
 *   <li>{@code none}: nobody is asked; confirmations are refused and secrets unavailable.
 * </ul>
 * The terminal is the requesting client's when that is safe, else keymux's own (see
 * {@link Terminals}); when neither may be asked, nobody is. Terminal prompts take turns: two at once would draw over each other. Every
 * refusal without asking is logged with the reason and what to change.
 */
public final class Prompts implements Prompter {
  private static final Logger log = LoggerFactory.getLogger(Prompts.class);
  static final String PINENTRY_PROGRAM = "pinentry-curses";
  /** Where programs are looked up when the environment has no PATH (the usual systemd default). */
  private static final String DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

  private enum Way { ASKPASS, PINENTRY, TERMINAL, NOBODY }

  /** How one question is asked: the way, the terminal for terminal ways, why not for NOBODY. */
  private record Route(Way way, Terminal terminal, Path pinentry, String whyNot) {
    static Route nobody(String why) {
      return new Route(Way.NOBODY, null, null, why);
    }
  }

  /** Timeouts of terminal prompts; one daemon thread for every Prompts of the process. */
  private static final class Timer {
    static final ScheduledExecutorService INSTANCE = DaemonThreads.scheduler("keymux-prompt-timer");
  }

  private final PromptMode mode;
  private final Map<String, String> env;
  private final Duration timeout;
  private final Askpass askpass;
  private final Terminals terminals;
  private final TerminalPrompt plain;
  private final Function<Session, Requester> describer;
  private final ReentrantLock terminalTurn = new ReentrantLock(true);

  /**
   * @param env the environment of keymux, which the askpass program and pinentry run in
   * @param timeout how long one question may wait for its answer
   * @param describer names the client and destination of a connection for confirm questions
   */
  public Prompts(PromptMode mode, Map<String, String> env, Duration timeout, Function<Session, Requester> describer) {
    this(mode, env, timeout, describer, new Terminals(Path.of("/proc"), Posix.currentUid(), env));
  }

  Prompts(PromptMode mode, Map<String, String> env, Duration timeout, Function<Session, Requester> describer,
      Terminals terminals) {
    this.mode = mode;
    this.env = Map.copyOf(env);
    this.timeout = timeout;
    this.askpass = new Askpass(env, timeout);
    this.terminals = terminals;
    this.plain = new TerminalPrompt(timeout, Timer.INSTANCE);
    this.describer = describer;
  }

  /** Only the askpass program, under OpenSSH's rules: how keymux asked before keymux.prompt existed. */
  public static Prompts askpassOnly(Map<String, String> env, Duration timeout) {
    return new Prompts(PromptMode.ASKPASS, env, timeout, Requester::basic);
  }

  public PromptMode mode() {
    return mode;
  }

  private Route route(Session session) {
    return switch (mode) {
      case NONE -> Route.nobody("keymux.prompt = none, so keymux asks nobody;"
          + " set keymux.prompt = auto (or askpass, pinentry, tty) to be asked");
      case ASKPASS -> askpassRoute();
      case PINENTRY -> pinentryProgram()
          .map(program -> onTerminal(session, program, ""))
          .orElseGet(() -> Route.nobody("keymux.prompt = pinentry, but " + PINENTRY_PROGRAM + " is not on PATH"
              + " (Debian: apt install pinentry-curses; or set keymux.prompt = tty)"));
      case TTY -> onTerminal(session, null, "");
      case AUTO -> askpass.allowed() ? askpassRoute()
          : onTerminal(session, pinentryProgram().orElse(null),
              "no askpass program can run (" + askpass.describeProgram() + ") and ");
    };
  }

  private Route askpassRoute() {
    return askpass.program().isPresent() ? new Route(Way.ASKPASS, null, null, null)
        : Route.nobody("no askpass program can run (" + askpass.describeProgram() + ")");
  }

  private Route onTerminal(Session session, Path pinentry, String whyNotAskpass) {
    return terminals.find(session)
        .map(t -> new Route(pinentry != null ? Way.PINENTRY : Way.TERMINAL, t, pinentry, null))
        .orElseGet(() -> Route.nobody(whyNotAskpass + "there is no terminal to ask on: " + terminals.whyNone(session)));
  }

  private Optional<Path> pinentryProgram() {
    for (String dir : env.getOrDefault("PATH", DEFAULT_PATH).split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, PINENTRY_PROGRAM);
      if (Files.isExecutable(p)) {
        return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  @Override
  public Optional<String> unavailable(Session session) {
    Route r = route(session);
    return r.way() == Way.NOBODY ? Optional.of(r.whyNot()) : Optional.empty();
  }

  /** A log line, and the askpass as a notification where OpenSSH's rules allow it (as ssh-agent shows a touch). */
  @Override
  public Notice notice(Session session, String text) {
    log.info("{}: {}", session, text);
    if (mode == PromptMode.NONE) {
      return () -> {};
    }
    return askpass.show(text).orElse(() -> {});
  }

  @Override
  public boolean confirmUse(Session session, Collection<String> keyComments, String fingerprint) {
    return confirm(session, describer.apply(session).confirmQuestion(keyComments, fingerprint));
  }

  @Override
  public boolean confirm(Session session, String asked) {
    String question = Requester.printable(asked, true); // the lines of the question, nothing that moves the cursor
    Route r = route(session);
    try {
      switch (r.way()) {
        case NOBODY -> {
          log.warn("confirmation refused without asking: {}", r.whyNot());
          return false;
        }
        case ASKPASS -> {
          return askpass.confirm(question);
        }
        default -> {
          return onTerminalTurn(r, () -> r.way() == Way.PINENTRY
              ? new Pinentry(r.pinentry(), env, timeout, Timer.INSTANCE).confirm(r.terminal(), question)
              : plain.confirm(r.terminal(), question), false);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  @Override
  public Optional<byte[]> secret(Session session, String asked, String label) throws InterruptedException {
    String prompt = Requester.printable(asked, false);
    Route r = route(session);
    // A terminal shows the question above its input field, so without the askpass's trailing ": ".
    String description = prompt.strip().replaceAll(":$", "");
    return switch (r.way()) {
      case NOBODY -> {
        log.warn("not asked \"{}\": {}", description, r.whyNot());
        yield Optional.empty();
      }
      case ASKPASS -> askpass.ask(prompt, null);
      case PINENTRY -> onTerminalTurn(r,
          () -> new Pinentry(r.pinentry(), env, timeout, Timer.INSTANCE).getPin(r.terminal(), description, label),
          Optional.empty());
      case TERMINAL -> onTerminalTurn(r, () -> plain.secret(r.terminal(), description, label + " "), Optional.empty());
    };
  }

  private interface Question<T> {
    T ask();
  }

  /** Asks on the route's terminal once no other terminal prompt is open; gives up after the timeout. */
  private <T> T onTerminalTurn(Route r, Question<T> question, T unanswered) throws InterruptedException {
    if (!terminalTurn.tryLock(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      log.warn("another prompt kept the terminal busy for {} s; not asked", timeout.toSeconds());
      return unanswered;
    }
    try {
      log.info("asking on {} ({}) with {}", r.terminal().device(), r.terminal().whose(),
          r.way() == Way.PINENTRY ? r.pinentry() : "a plain prompt");
      return question.ask();
    } finally {
      terminalTurn.unlock();
    }
  }
}
