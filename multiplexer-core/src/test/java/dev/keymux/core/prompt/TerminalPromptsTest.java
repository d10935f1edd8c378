package dev.keymux.core.prompt;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.Peer;
import dev.keymux.core.agent.Session;
import dev.keymux.core.agent.SessionBinding;
import dev.keymux.core.server.Posix;
import dev.keymux.testing.Proc;
import dev.keymux.testing.RealComponents;
import dev.keymux.testing.Tmux;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The terminal ways of asking, on a real pty: a tmux pane runs a "client" process, the prompt
 * layer finds the pane through that process's pid, and the test reads the pane and types into it
 * as a user would — pinentry-curses (spoken to over Assuan) and the plain prompt alike.
 */
class TerminalPromptsTest {
  static final Duration T = Duration.ofSeconds(20);
  static final Path PINENTRY = Path.of("/usr/bin/pinentry-curses");
  @TempDir Path dir;
  Tmux tmux;
  long client;
  /** A connection from the pane's process, of keymux's own uid, not forwarded. */
  Session session;

  static void requireTerminal() {
    RealComponents.require("tty", Tmux.available() && Files.isExecutable(PINENTRY),
        "tmux and pinentry-curses are needed (apt-get install tmux pinentry-curses)");
  }

  @BeforeEach
  void startClient() {
    requireTerminal();
    tmux = Tmux.start(dir, Map.of("PATH", "/usr/bin:/bin", "TERM", "xterm"), "exec sleep 600");
    client = tmux.panePid();
    session = new Session(new Peer(client, Posix.currentUid(), 0, Peer.MAIN_SOCKET));
  }

  @AfterEach
  void stop() {
    if (tmux != null) {
      tmux.close();
    }
  }

  private static Prompts prompts(PromptMode mode, String path) {
    Map<String, String> env = new HashMap<>();
    env.put("PATH", path);
    return new Prompts(mode, env, T, Requester::basic);
  }

  private static <T> T within(CompletableFuture<T> answer) throws Exception {
    return answer.get(T.toSeconds() + 10, TimeUnit.SECONDS);
  }

  @Test
  void pinentryShowsTheWholeQuestionOnTheClientsTerminalAndOkAllows() throws Exception {
    Prompts p = prompts(PromptMode.PINENTRY, "/usr/bin:/bin");
    String question = "Allow use of key work laptop?\nKey fingerprint SHA256:abc%2Bdef.\nRequested by /usr/bin/ssh (pid 7) for 100% host.example.";
    CompletableFuture<Boolean> answer = CompletableFuture.supplyAsync(() -> p.confirm(session, question));
    String screen = tmux.waitFor("Requested by /usr/bin/ssh (pid 7) for 100% host.example.");
    assertTrue(screen.contains("Allow use of key work laptop?"), screen);
    assertTrue(screen.contains("Key fingerprint SHA256:abc%2Bdef."), "a literal % survives Assuan's escaping:\n" + screen);
    assertTrue(screen.contains("<OK>") && screen.contains("<Cancel>"), screen);
    tmux.keys("Enter"); // OK has the focus
    assertTrue(within(answer));
  }

  @Test
  void pinentryCancelRefuses() throws Exception {
    Prompts p = prompts(PromptMode.PINENTRY, "/usr/bin:/bin");
    CompletableFuture<Boolean> answer = CompletableFuture.supplyAsync(() -> p.confirm(session, "Allow use of key k?"));
    tmux.waitFor("<Cancel>");
    tmux.keys("Tab", "Enter");
    assertFalse(within(answer));
  }

  @Test
  void pinentryGetpinReturnsWhatWasTypedWithoutShowingIt() throws Exception {
    Prompts p = prompts(PromptMode.PINENTRY, "/usr/bin:/bin");
    CompletableFuture<Optional<byte[]>> answer = CompletableFuture.supplyAsync(() -> secret(p, "Enter PIN for 'token': "));
    String screen = tmux.waitFor("Enter PIN for 'token'");
    assertTrue(screen.contains("PIN:"), screen);
    String typed = "s3cr%t pass";
    tmux.type(typed);
    Thread.sleep(300);
    assertFalse(tmux.screen().contains(typed), "pinentry masks what is typed");
    tmux.keys("Enter");
    assertEquals(typed, new String(within(answer).orElseThrow()));
  }

  @Test
  void plainPromptConfirmsOnlyOnYes() throws Exception {
    Prompts p = prompts(PromptMode.TTY, "/usr/bin:/bin");
    CompletableFuture<Boolean> yes = CompletableFuture.supplyAsync(() -> p.confirm(session, "Allow use of key k?\nKey fingerprint F."));
    String screen = tmux.waitFor("Allow? [y/N]");
    assertTrue(screen.contains("keymux: Allow use of key k?") && screen.contains("Key fingerprint F."), screen);
    tmux.type("y");
    tmux.keys("Enter");
    assertTrue(within(yes));

    CompletableFuture<Boolean> no = CompletableFuture.supplyAsync(() -> p.confirm(session, "Allow use of key second?"));
    tmux.waitFor("Allow use of key second?");
    tmux.type("sure");
    tmux.keys("Enter");
    assertFalse(within(no), "only y or yes is a yes");
  }

  @Test
  void plainPromptReadsASecretWithEchoOffAndRestoresTheTerminal() throws Exception {
    Prompts p = prompts(PromptMode.TTY, "/usr/bin:/bin");
    CompletableFuture<Optional<byte[]>> answer = CompletableFuture.supplyAsync(
        () -> secret(p, "Enter passphrase for /home/u/.ssh/id_ed25519: "));
    tmux.waitFor("Passphrase:");
    tmux.type("typed in the dark");
    Thread.sleep(300);
    assertFalse(tmux.screen().contains("typed in the dark"), "no echo while the secret is typed");
    tmux.keys("Enter");
    assertEquals("typed in the dark", new String(within(answer).orElseThrow()));
    String modes = Proc.run(T, Map.of(), "/bin/stty", "-F", tmux.paneTty().toString(), "-a").assertOk().stdout();
    assertTrue(modes.matches("(?s).*(^|\\s)echo(\\s|$).*"), "echo is back on afterwards:\n" + modes);
  }

  @Test
  void autoWithoutADisplayUsesPinentryWhenInstalledAndThePlainPromptWhenNot() throws Exception {
    CompletableFuture<Boolean> withPinentry = CompletableFuture.supplyAsync(
        () -> prompts(PromptMode.AUTO, "/usr/bin:/bin").confirm(session, "Allow use of key one?"));
    tmux.waitFor("<Cancel>");
    tmux.keys("Enter");
    assertTrue(within(withPinentry));

    Path bin = Files.createDirectories(dir.resolve("bin-without-pinentry"));
    CompletableFuture<Boolean> plain = CompletableFuture.supplyAsync(
        () -> prompts(PromptMode.AUTO, bin.toString()).confirm(session, "Allow use of key two?"));
    String screen = tmux.waitFor("Allow? [y/N]");
    assertFalse(screen.contains("<Cancel>"), screen);
    tmux.type("yes");
    tmux.keys("Enter");
    assertTrue(within(plain));
  }

  @Test
  void aTerminalOfAnotherUserIsNeverUsed() throws Exception {
    Path tty = tmux.paneTty();
    Terminals terminals = new Terminals(Path.of("/proc"), Posix.currentUid(), Map.of());
    assertEquals(Optional.of(tty), terminals.find(session).map(Terminals.Terminal::device), "ours: used");
    assertTrue(Posix.currentUid() == 0, "changing a terminal's owner needs root (the tests run as root)");
    Files.setAttribute(tty, "unix:uid", 65534);
    Optional<Terminals.Terminal> found = terminals.find(session);
    assertNotEquals(Optional.of(tty), found.map(Terminals.Terminal::device), "another uid's terminal is not ours to ask on");
    if (found.isEmpty()) { // keymux itself has no terminal here: nobody can be asked, and the log says why
      assertTrue(terminals.whyNone(session).contains(tty + " does not belong to keymux's uid"), terminals.whyNone(session));
    }
  }

  /**
   * Asserts that {@code from} is not asked on the pane's terminal and that the reason names
   * {@code why}; when keymux (the test JVM) has no terminal of its own, that nobody is asked at all.
   */
  private void notAskedOnThePane(Session from, String why) throws Exception {
    Path tty = tmux.paneTty();
    Terminals terminals = new Terminals(Path.of("/proc"), Posix.currentUid(), Map.of());
    Optional<Terminals.Terminal> found = terminals.find(from);
    assertNotEquals(Optional.of(tty), found.map(Terminals.Terminal::device), "the pane's terminal is not asked on");
    assertTrue(terminals.whyNone(from).contains(why), terminals.whyNone(from));
    if (found.isEmpty()) {
      Prompts p = prompts(PromptMode.TTY, "/usr/bin:/bin");
      assertTrue(p.unavailable(from).orElseThrow().contains(why), p.unavailable(from).orElseThrow());
      assertFalse(within(CompletableFuture.supplyAsync(() -> p.confirm(from, "Allow use of key refused?"))));
      assertFalse(tmux.screen().contains("Allow use of key refused?"), "nothing was shown");
    }
  }

  @Test
  void aBackgroundJobIsNotAskedOnItsTerminalButTheForegroundIs() throws Exception {
    tmux.close();
    // set -m: the job gets its own process group, which is not the terminal's foreground group
    tmux = Tmux.start(Files.createDirectories(dir.resolve("with-job")), Map.of("PATH", "/usr/bin:/bin", "TERM", "xterm"),
        "set -m; sleep 300 & exec sleep 600");
    long foreground = tmux.panePid();
    ProcessHandle job = null;
    for (int i = 0; job == null && i < 100; i++) {
      job = ProcessHandle.of(foreground).flatMap(h -> h.children().findFirst()).orElse(null);
      Thread.sleep(job == null ? 50 : 0);
    }
    assertNotNull(job, "the pane started its background job");
    try {
      notAskedOnThePane(new Session(new Peer(job.pid(), Posix.currentUid(), 0, Peer.MAIN_SOCKET)),
          "(pid " + job.pid() + ") is not in the foreground of its terminal " + tmux.paneTty());

      Prompts p = prompts(PromptMode.TTY, "/usr/bin:/bin");
      Session inFront = new Session(new Peer(foreground, Posix.currentUid(), 0, Peer.MAIN_SOCKET));
      CompletableFuture<Boolean> answer = CompletableFuture.supplyAsync(() -> p.confirm(inFront, "Allow use of key k?"));
      tmux.waitFor("Allow? [y/N]");
      tmux.type("y");
      tmux.keys("Enter");
      assertTrue(within(answer), "the foreground process of the same terminal is asked");
    } finally {
      job.destroy();
    }
  }

  @Test
  void aRequestThroughAgentForwardingIsNotAskedOnTheClientsTerminal() throws Exception {
    Session forwarded = new Session(new Peer(client, Posix.currentUid(), 0, Peer.MAIN_SOCKET));
    forwarded.addBinding(new SessionBinding(RequesterTest.HOST, new byte[] {1}, true, new byte[0]));
    notAskedOnThePane(forwarded, "came through agent forwarding");
  }

  @Test
  void aClientOfAnotherUidIsNotAskedOnItsTerminalEvenWhenTheTerminalIsOurs() throws Exception {
    assertEquals(Optional.of(Posix.currentUid()), Optional.ofNullable(Files.getAttribute(tmux.paneTty(), "unix:uid")),
        "the pane's terminal is keymux's user's");
    notAskedOnThePane(new Session(new Peer(client, 65534, 65534, "granted")), "runs as uid 65534, not keymux's uid");
  }

  @Test
  void aQuestionLongerThanAnAssuanLineIsStillShownByPinentry() throws Exception {
    Prompts p = prompts(PromptMode.PINENTRY, "/usr/bin:/bin");
    String question = "Allow use of key long?\nRequested by ssh for " + "host-with-a-long-name.example, ".repeat(60) + "last.";
    CompletableFuture<Boolean> answer = CompletableFuture.supplyAsync(() -> p.confirm(session, question));
    String screen = tmux.waitFor("<Cancel>");
    assertTrue(screen.contains("Allow use of key long?"), screen);
    assertFalse(screen.contains("last."), "cut short:\n" + screen);
    tmux.keys("Enter");
    assertTrue(within(answer));
  }

  @Test
  void noneAsksNobodyAndSaysHowToChangeThat() {
    Prompts p = prompts(PromptMode.NONE, "/usr/bin:/bin");
    assertFalse(p.confirm(session, "Allow use of key k?"));
    String why = p.unavailable(session).orElseThrow();
    assertTrue(why.contains("keymux.prompt = none") && why.contains("set keymux.prompt = auto"), why);
    assertFalse(tmux.screen().contains("Allow use of key"), "nothing was shown");
  }

  @Test
  void confirmUseNamesKeyClientAndDestinationOnTheTerminal() throws Exception {
    Prompts p = new Prompts(PromptMode.TTY, Map.of("PATH", "/usr/bin:/bin"), T, Requester::basic);
    Session session = new Session(new Peer(client, Posix.currentUid(), 0, "container"));
    CompletableFuture<Boolean> answer = CompletableFuture.supplyAsync(
        () -> p.confirmUse(session, List.of("deploy key"), "SHA256:xyz"));
    String screen = tmux.waitFor("Allow? [y/N]");
    assertTrue(screen.contains("Allow use of key deploy key?"), screen);
    assertTrue(screen.contains("Key fingerprint SHA256:xyz."), screen);
    assertTrue(screen.contains("Requested by /usr/bin/sleep (pid " + client + ") (destination unknown) through socket container."),
        screen);
    tmux.type("n");
    tmux.keys("Enter");
    assertFalse(within(answer));
  }

  private Optional<byte[]> secret(Prompts p, String prompt) {
    try {
      return p.secret(session, prompt, prompt.startsWith("Enter PIN") ? "PIN:" : "Passphrase:");
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
