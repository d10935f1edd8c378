package dev.keymux.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A real terminal for tests: a private tmux server (its own socket, no user configuration) whose
 * one pane runs a command on a real pty. The test reads the screen with capture-pane and types
 * with send-keys, as a user would; the server is killed through its own socket afterwards.
 */
public final class Tmux implements AutoCloseable {
  private static final Path TMUX = Path.of("/usr/bin/tmux");
  private static final Duration T = Duration.ofSeconds(20);
  public static final int WIDTH = 160;

  private final Path socket;
  private final Map<String, String> env;

  private Tmux(Path socket, Map<String, String> env) {
    this.socket = socket;
    this.env = env;
  }

  public static boolean available() {
    return Files.isExecutable(TMUX);
  }

  /** Starts a tmux server in {@code dir} running {@code shellCommand} in its pane, with {@code env}. */
  public static Tmux start(Path dir, Map<String, String> env, String shellCommand) {
    Path socket = dir.resolve("tmux.sock");
    Tmux t = new Tmux(socket, env);
    t.tmux("-f", "/dev/null", "new-session", "-d", "-x", Integer.toString(WIDTH), "-y", "50", shellCommand);
    return t;
  }

  private String tmux(String... args) {
    List<String> cmd = new ArrayList<>(List.of(TMUX.toString(), "-S", socket.toString()));
    cmd.addAll(List.of(args));
    return Proc.run(T, env, cmd.toArray(String[]::new)).assertOk().stdout();
  }

  /** The pid of the pane's process: a client whose controlling terminal is the pane. */
  public long panePid() {
    return Long.parseLong(tmux("display-message", "-p", "#{pane_pid}").strip());
  }

  /** The pane's pty, e.g. /dev/pts/3. */
  public Path paneTty() {
    return Path.of(tmux("display-message", "-p", "#{pane_tty}").strip());
  }

  /** What the pane shows now, one line per row. */
  public String screen() {
    return tmux("capture-pane", "-p", "-J");
  }

  /** Waits until the pane shows {@code text}; returns the screen then. Fails with the screen after 20 s. */
  public String waitFor(String text) throws InterruptedException {
    long deadline = System.nanoTime() + T.toNanos();
    String screen = "";
    while (System.nanoTime() < deadline) {
      screen = screen();
      if (screen.contains(text)) {
        return screen;
      }
      Thread.sleep(100);
    }
    return fail("the terminal did not show \"" + text + "\" within " + T.toSeconds() + " s; it shows:\n" + screen);
  }

  /** Presses keys by tmux name (Enter, Tab, Escape, ...). */
  public void keys(String... keys) {
    List<String> args = new ArrayList<>(List.of("send-keys", "-t", "0"));
    args.addAll(List.of(keys));
    tmux(args.toArray(String[]::new));
  }

  /** Types {@code text} literally. */
  public void type(String text) {
    tmux("send-keys", "-t", "0", "-l", text);
  }

  @Override
  public void close() {
    Proc.run(T, env, TMUX.toString(), "-S", socket.toString(), "kill-server");
  }
}
