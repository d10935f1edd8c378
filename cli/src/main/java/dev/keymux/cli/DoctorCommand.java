package dev.keymux.cli;

import dev.keymux.config.KeymuxSettings;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Session;
import dev.keymux.core.client.AgentClient;
import dev.keymux.core.server.Posix;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code keymux doctor}: who answers on SSH_AUTH_SOCK, whether keymux runs where it should, and
 * which other agents of this user are around — each finding as OK or a problem with the exact
 * fix. Exit status 1 when there is a problem.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
    description = "Check who owns SSH_AUTH_SOCK, find stray agents, and print the fix for each problem.")
final class DoctorCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "keymux configuration file.")
  Path config;

  private PrintWriter out;
  private int problems;

  private void ok(String what) {
    out.println("OK       " + what);
  }

  private void problem(String what, String fix) {
    problems++;
    out.println("PROBLEM  " + what);
    out.println("         fix: " + fix);
  }

  private void note(String what) {
    out.println("NOTE     " + what);
  }

  private enum Kind { KEYMUX, AGENT, HUNG, DEAD }

  /**
   * Who answers on a socket: keymux (its answer to {@code query} lists keymux's own extension),
   * another agent (any answer at all, including a refusal of {@code query}), one that accepts
   * connections but does not answer, or nobody. {@code query} is answered by keymux itself,
   * so a keymux whose upstreams hang is still recognised at once.
   */
  private static Kind probe(Path socket) {
    if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
      return Kind.DEAD;
    }
    try (AgentClient c = new AgentClient(socket, Duration.ofSeconds(2))) {
      AgentResponse r = c.extension(Session.local(), AgentProtocol.EXT_QUERY, new byte[0]);
      return r instanceof AgentResponse.ExtensionResponse e && extensionNames(e.contents()).contains(AgentProtocol.EXT_KEYMUX_CHAIN)
          ? Kind.KEYMUX : Kind.AGENT;
    } catch (AgentException e) {
      if (e.kind() != AgentException.Kind.UNREACHABLE) {
        return Kind.AGENT; // it refused query: an agent lives here
      }
      return e.getCause() instanceof java.net.SocketTimeoutException ? Kind.HUNG : Kind.DEAD;
    }
  }

  /** The extension names of a {@code query} answer; what cannot be read is left out. */
  private static List<String> extensionNames(byte[] contents) {
    List<String> names = new ArrayList<>();
    SshReader r = new SshReader(contents);
    try {
      while (r.hasRemaining()) {
        names.add(r.readUtf8());
      }
    } catch (ProtocolException e) {
      // a malformed tail: keep what was readable
    }
    return names;
  }

  /** The fix when SSH_AUTH_SOCK points at GNOME's agent: which agent it is decides how to turn it off. */
  private static String gnomeFix(boolean gcr) {
    String front = "keep GNOME behind keymux (the default `gnome` backend fronts it) and set SSH_AUTH_SOCK after login: "
        + "eval \"$(keymux env)\"; or turn GNOME's ssh agent off: ";
    return front + (gcr
        ? "systemctl --user disable --now gcr-ssh-agent.socket"
        : "cp /etc/xdg/autostart/gnome-keyring-ssh.desktop ~/.config/autostart/ && echo Hidden=true >> "
            + "~/.config/autostart/gnome-keyring-ssh.desktop   (gnome-keyring 42 and older)");
  }

  @Override
  public Integer call() {
    out = spec.commandLine().getOut();
    Map<String, String> env = System.getenv();
    KeymuxSettings settings = Settings.load(config, Map.of());
    Path ours = settings.socketPath();
    String xdg = env.getOrDefault("XDG_RUNTIME_DIR", "");

    if (xdg.isEmpty()) {
      note("XDG_RUNTIME_DIR is not set (common over ssh before any graphical login); keymux uses " + ours.getParent());
    }
    Kind keymux = probe(ours);
    if (keymux == Kind.KEYMUX) {
      ok("keymux answers on " + ours);
    } else if (keymux == Kind.HUNG) {
      problem("something on " + ours + " accepts connections but does not answer",
          "stop the process holding the socket (ss -xlp | grep " + ours + "), then start keymux again: keymux serve");
    } else {
      problem("keymux is not running on " + ours, "start it: keymux serve   (or enable the systemd user unit)");
    }

    String sock = env.getOrDefault("SSH_AUTH_SOCK", "");
    Path gnome = xdg.isEmpty() ? null : Path.of(xdg, "keyring", "ssh");
    Path gcr = xdg.isEmpty() ? null : Path.of(xdg, "gcr", "ssh");
    if (sock.isEmpty()) {
      problem("SSH_AUTH_SOCK is not set: ssh, git and ssh-add will not find any agent",
          "add to your shell profile: eval \"$(keymux env)\"");
    } else {
      Path p = Path.of(sock);
      Kind k = probe(p);
      if (k == Kind.KEYMUX) {
        ok("SSH_AUTH_SOCK points at keymux (" + sock + ")");
      } else if (p.equals(gcr)) {
        problem("SSH_AUTH_SOCK points at GNOME's gcr-ssh-agent (" + sock + "), not at keymux", gnomeFix(true));
      } else if (p.equals(gnome)) {
        problem("SSH_AUTH_SOCK points at GNOME Keyring's agent (" + sock + "), not at keymux", gnomeFix(false));
      } else if (k == Kind.HUNG) {
        problem("SSH_AUTH_SOCK=" + sock + " accepts connections but does not answer", "eval \"$(keymux env)\"");
      } else if (k == Kind.DEAD) {
        problem("SSH_AUTH_SOCK=" + sock + " leads to no agent (stale)", "eval \"$(keymux env)\"");
      } else {
        problem("SSH_AUTH_SOCK points at another agent (" + sock + "), not at keymux",
            "put it behind keymux as an upstream: keymux.backends.other { type = agent, socket = \"" + sock
                + "\" }, then eval \"$(keymux env)\"");
      }
    }

    for (Path other : otherAgentSockets(xdg, env)) {
      if (other.equals(ours) || other.toString().equals(sock)) {
        continue;
      }
      Kind k = probe(other);
      if (k == Kind.DEAD) {
        problem("stale agent socket " + other + " (nothing answers)", "rm " + other);
      } else if (k == Kind.HUNG) {
        note("an agent on " + other + " accepts connections but does not answer");
      } else {
        note("another agent answers on " + other + (k == Kind.KEYMUX ? " (a keymux)" : "")
            + "; to use its keys through keymux: keymux.backends.x { type = agent, socket = \"" + other + "\" }");
      }
    }
    out.println(problems == 0 ? "No problems found." : problems + " problem(s) found.");
    out.flush();
    return problems == 0 ? 0 : 1;
  }

  /** This user's agent sockets in the usual places: ssh-agent's /tmp dirs, GNOME, gcr, gpg-agent. */
  private static List<Path> otherAgentSockets(String xdg, Map<String, String> env) {
    Set<Path> found = new LinkedHashSet<>();
    int uid = Posix.currentUid();
    Path tmp = Path.of(env.getOrDefault("TMPDIR", "/tmp"));
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(tmp, "ssh-*")) {
      for (Path d : dirs) {
        if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS) || (Integer) Files.getAttribute(d, "unix:uid") != uid) {
          continue;
        }
        try (DirectoryStream<Path> socks = Files.newDirectoryStream(d, "agent.*")) {
          socks.forEach(found::add);
        } catch (IOException ignored) {
          // unreadable: not ours to judge
        }
      }
    } catch (IOException ignored) {
      // no such directory
    }
    List<Path> candidates = new ArrayList<>();
    if (!xdg.isEmpty()) {
      candidates.add(Path.of(xdg, "keyring", "ssh"));
      candidates.add(Path.of(xdg, "gcr", "ssh"));
      candidates.add(Path.of(xdg, "gnupg", "S.gpg-agent.ssh"));
    }
    candidates.add(Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".gnupg", "S.gpg-agent.ssh"));
    for (Path c : candidates) {
      if (Files.exists(c, LinkOption.NOFOLLOW_LINKS)) {
        found.add(c);
      }
    }
    return new ArrayList<>(found);
  }
}
