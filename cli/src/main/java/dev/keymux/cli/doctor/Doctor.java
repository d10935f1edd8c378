package dev.keymux.cli.doctor;

import dev.keymux.cli.Programs;
import dev.keymux.cli.UserError;
import dev.keymux.cli.setup.ServiceAccount;
import dev.keymux.cli.setup.UserUnits;
import dev.keymux.config.KeymuxSettings;
import dev.keymux.config.policy.SocketSettings;
import dev.keymux.core.agent.AgentException;
import dev.keymux.core.agent.Session;
import dev.keymux.core.client.AgentClient;
import dev.keymux.core.mux.KeyListing;
import dev.keymux.core.server.Posix;
import dev.keymux.core.wire.AgentProtocol;
import dev.keymux.core.wire.AgentResponse;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.DirectoryIteratorException;
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

/**
 * What {@code keymux doctor} checks: who answers on SSH_AUTH_SOCK, whether keymux runs where it
 * should, which other agents of this user are around, whether the systemd units are in place,
 * whether sudo and containers can reach keymux — each finding as OK, PROBLEM or NOTE, with the exact fix. Exit
 * status 1 when there is a problem; notes (things that may be on purpose) do not count.
 *
 * <p>The systemd units are a problem only on a machine that runs systemd ({@code /run/systemd/system}
 * exists, the test sd_booted(3) makes): there they are how keymux is meant to start. Without
 * systemd (a container, most CI runners) keymux is started another way and missing units are a
 * note, so {@code keymux doctor} in CI does not fail for them. Whether keymux.socket is enabled
 * is asked of {@code systemctl --user is-enabled}, which reads the unit files even when no user
 * manager runs; without systemctl the link in sockets.target.wants decides.
 */
public final class Doctor {
  /** How long an agent that runs may take to answer. */
  private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(2);
  /**
   * keymux's own socket may be held by systemd, whose first connection starts keymux: a cold JVM
   * answers in about 3.5 s on a small machine, so that one wait is longer.
   */
  private static final Duration FIRST_ANSWER_TIMEOUT = Duration.ofSeconds(10);
  /** sudo -n -l never prompts, but may look up users over the network. */
  private static final Duration SUDO_TIMEOUT = Duration.ofSeconds(10);

  private final PrintWriter out;
  /** Where /etc/sudoers and /run/systemd/system are looked up: the tests' stand-in for a machine. */
  private final Path systemRoot;
  /** An image to try each scoped socket from, or null. */
  private final String containerImage;
  /** {@code --clean}: remove stale sockets of ours instead of reporting them. */
  private final boolean clean;
  private DoctorReport report;

  public Doctor(PrintWriter out, Path systemRoot, String containerImage, boolean clean) {
    this.out = out;
    this.systemRoot = systemRoot;
    this.containerImage = containerImage;
    this.clean = clean;
  }

  private enum Kind { KEYMUX, AGENT, HUNG, DEAD }

  /**
   * Who answers on a socket: keymux (its answer to {@code query} lists keymux's own extension),
   * another agent (any answer at all, including a refusal of {@code query}), one that accepts
   * connections but does not answer, or nobody. {@code query} is answered by keymux itself,
   * so a keymux whose upstreams hang is still recognised at once.
   */
  private static Kind probe(Path socket) {
    return probe(socket, ANSWER_TIMEOUT);
  }

  private static Kind probe(Path socket, Duration timeout) {
    if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
      return Kind.DEAD;
    }
    try (AgentClient c = new AgentClient(socket, timeout)) {
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

  /** Runs every check against {@code settings}, as seen with {@code env}; the exit status (1: a problem). */
  public int run(KeymuxSettings settings, Map<String, String> env) {
    report = new DoctorReport(out);
    Path ours = settings.socketPath();
    String xdg = env.getOrDefault("XDG_RUNTIME_DIR", "");
    String sock = env.getOrDefault("SSH_AUTH_SOCK", "");

    if (xdg.isEmpty()) {
      report.note("XDG_RUNTIME_DIR is not set (common over ssh before any graphical login); keymux uses " + ours.getParent());
    }
    checkKeymux(ours);
    checkAuthSock(sock, xdg);
    checkOtherAgents(ours, sock, xdg, env);
    checkUnits(env);
    checkSudo();
    checkContainers(settings, env);
    return report.finish();
  }

  /**
   * {@code keymux doctor --account NAME}, as that account or as root: the service account's units,
   * its socket's owner and mode, its deploy keys file's owner and mode, and what its agent offers.
   */
  public int runForAccount(ServiceAccount account) {
    report = new DoctorReport(out);
    Path units = account.unitDirectory();
    for (String unit : List.of(ServiceAccount.SOCKET, ServiceAccount.SERVICE)) {
      if (Files.isRegularFile(units.resolve(unit))) {
        report.ok(units.resolve(unit) + " is installed");
      } else {
        report.problem("no " + units.resolve(unit), "sudo keymux install --system --account " + account.name());
      }
    }
    Path wants = units.resolve("sockets.target.wants").resolve(account.instance(ServiceAccount.SOCKET));
    if (Files.exists(wants, LinkOption.NOFOLLOW_LINKS)) {
      report.ok(account.instance(ServiceAccount.SOCKET) + " is enabled: systemd starts the agent on the first connection");
    } else {
      report.problem(account.instance(ServiceAccount.SOCKET) + " is not enabled",
          "sudo systemctl enable --now " + account.instance(ServiceAccount.SOCKET));
    }
    int uid = -1;
    try {
      uid = ServiceAccount.uidOf(account.name());
    } catch (UserError e) {
      report.problem(e.getMessage(), "useradd --system " + account.name() + ", then sudo keymux install --system --account "
          + account.name());
    }
    checkOwnAndMode(account.socket(), uid, 0600, "the account's socket",
        "sudo systemctl restart " + account.instance(ServiceAccount.SOCKET));
    checkOwnAndMode(account.socket().getParent(), uid, 0700, "the socket's directory",
        "sudo systemctl restart " + account.instance(ServiceAccount.SOCKET));
    checkOwnAndMode(account.keysFile(), 0, 0600, "the deploy keys file",
        "sudo chown root:root " + account.keysFile() + " && sudo chmod 600 " + account.keysFile());
    if (probe(account.socket(), FIRST_ANSWER_TIMEOUT) == Kind.KEYMUX) {
      try (AgentClient c = new AgentClient(account.socket(), FIRST_ANSWER_TIMEOUT)) {
        AgentResponse r = c.extension(Session.local(), AgentProtocol.EXT_KEYMUX_LIST, new byte[0]);
        KeyListing listing = KeyListing.decode(((AgentResponse.ExtensionResponse) r).contents());
        report.ok("keymux answers on " + account.socket() + " and holds " + listing.keys().size() + " key(s): "
            + String.join(", ", listing.keys().stream().map(k -> k.comment() + " (" + k.backend() + ")").toList()));
      } catch (AgentException | ProtocolException | ClassCastException e) {
        report.problem("keymux on " + account.socket() + " did not list its keys: " + e.getMessage(),
            "journalctl -u " + account.instance(ServiceAccount.SERVICE));
      }
    } else if (Files.exists(account.socket(), LinkOption.NOFOLLOW_LINKS)) {
      report.problem("nothing answers on " + account.socket() + " (or this uid may not use it)",
          "run doctor as " + account.name() + " or root; see journalctl -u " + account.instance(ServiceAccount.SERVICE));
    }
    return report.finish();
  }

  /** {@code what} must be {@code uid}'s with exactly {@code mode}; a problem with {@code fix} otherwise. */
  private void checkOwnAndMode(Path p, int uid, int mode, String what, String fix) {
    try {
      int m = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
      int owner = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
      if (m == mode && (uid < 0 || owner == uid)) {
        report.ok(what + " " + p + " is uid " + owner + "'s, mode " + String.format("%04o", m));
      } else {
        report.problem(String.format("%s %s is uid %d's, mode %04o; it must be uid %d's, mode %04o", what, p, owner, m,
            uid, mode), fix);
      }
    } catch (IOException e) {
      report.problem(what + " " + p + " cannot be read (" + e.getMessage() + ")", fix);
    }
  }

  private void checkKeymux(Path ours) {
    Kind keymux = probe(ours, FIRST_ANSWER_TIMEOUT);
    if (keymux == Kind.KEYMUX) {
      report.ok("keymux answers on " + ours);
    } else if (keymux == Kind.HUNG) {
      report.problem("something on " + ours + " accepts connections but does not answer",
          "stop the process holding the socket (ss -xlp | grep " + ours + "), then start keymux again: keymux serve");
    } else {
      report.problem("keymux is not running on " + ours, "start it: keymux serve   (or enable the systemd user unit)");
    }
  }

  private void checkAuthSock(String sock, String xdg) {
    Path gnome = xdg.isEmpty() ? null : Path.of(xdg, "keyring", "ssh");
    Path gcr = xdg.isEmpty() ? null : Path.of(xdg, "gcr", "ssh");
    if (sock.isEmpty()) {
      report.problem("SSH_AUTH_SOCK is not set: ssh, git and ssh-add will not find any agent",
          "add to your shell profile: eval \"$(keymux env)\"");
      return;
    }
    Path p = Path.of(sock);
    Kind k = probe(p);
    if (k == Kind.KEYMUX) {
      report.ok("SSH_AUTH_SOCK points at keymux (" + sock + ")");
    } else if (p.equals(gcr)) {
      report.problem("SSH_AUTH_SOCK points at GNOME's gcr-ssh-agent (" + sock + "), not at keymux", gnomeFix(true));
    } else if (p.equals(gnome)) {
      report.problem("SSH_AUTH_SOCK points at GNOME Keyring's agent (" + sock + "), not at keymux", gnomeFix(false));
    } else if (k == Kind.HUNG) {
      report.problem("SSH_AUTH_SOCK=" + sock + " accepts connections but does not answer", "eval \"$(keymux env)\"");
    } else if (k == Kind.DEAD) {
      report.problem("SSH_AUTH_SOCK=" + sock + " leads to no agent (stale)", "eval \"$(keymux env)\"");
    } else {
      report.problem("SSH_AUTH_SOCK points at another agent (" + sock + "), not at keymux",
          "put it behind keymux as an upstream: keymux.backends.other { type = agent, socket = \"" + sock
              + "\" }, then eval \"$(keymux env)\"");
    }
  }

  private void checkOtherAgents(Path ours, String sock, String xdg, Map<String, String> env) {
    for (Path other : otherAgentSockets(xdg, env)) {
      if (other.equals(ours) || other.toString().equals(sock)) {
        continue;
      }
      Kind k = probe(other);
      if (k == Kind.DEAD && clean) {
        removeStale(other);
      } else if (k == Kind.DEAD) {
        report.problem("stale agent socket " + other + " (nothing answers)", "rm " + other, "keymux doctor --clean");
      } else if (k == Kind.HUNG) {
        report.note("an agent on " + other + " accepts connections but does not answer");
      } else {
        report.note("another agent answers on " + other + (k == Kind.KEYMUX ? " (a keymux)" : "")
            + "; to use its keys through keymux: keymux.backends.x { type = agent, socket = \"" + other + "\" }");
      }
    }
  }

  /**
   * {@code --clean}: a dead socket of ours goes, and with it its ssh-XXXX directory once empty.
   * Only sockets are found (never a regular file beside one), only in directories of our own uid.
   */
  private void removeStale(Path socket) {
    try {
      if ((Integer) Files.getAttribute(socket, "unix:uid", LinkOption.NOFOLLOW_LINKS) != Posix.currentUid()) {
        report.note("left " + socket + ": it is not yours");
        return;
      }
      Files.delete(socket);
      Path dir = socket.getParent();
      try (DirectoryStream<Path> rest = Files.newDirectoryStream(dir)) {
        if (!rest.iterator().hasNext()) {
          Files.delete(dir);
          report.ok("removed the stale agent socket " + socket + " and its empty directory");
          return;
        }
      }
      report.ok("removed the stale agent socket " + socket);
    } catch (IOException | DirectoryIteratorException e) {
      report.problem("cannot remove the stale agent socket " + socket + ": " + e.getMessage(), "rm " + socket);
    }
  }

  /** keymux.socket installed and enabled; see the class comment for when that is a problem. */
  private void checkUnits(Map<String, String> env) {
    Path units = UserUnits.unitDirectory(env);
    Path socketUnit = units.resolve(UserUnits.SOCKET);
    Path booted = systemRoot.resolve("run/systemd/system");
    boolean systemd = Files.isDirectory(booted);
    if (!Files.exists(socketUnit)) {
      if (systemd) {
        report.problem("keymux's systemd user units are not installed (no " + socketUnit + "): keymux does not start with "
            + "your session", "keymux install");
      } else {
        report.note("this machine does not run systemd (no " + booted + "; a container or CI?): start keymux with keymux serve, "
            + "or keymux ci start in CI; keymux install is for machines with systemd");
      }
      return;
    }
    String state = unitState(units);
    if (systemd && env.getOrDefault("XDG_RUNTIME_DIR", "").isEmpty()) {
      report.note("no user manager runs for you now (no login session): your units start keymux only while you are logged in; "
          + "to keep it running without a session: loginctl enable-linger " + System.getProperty("user.name")
          + "; for a service account: sudo keymux install --system --account NAME");
    }
    if (state.equals("enabled") || state.equals("enabled-runtime")) {
      report.ok(UserUnits.SOCKET + " is installed and enabled (" + socketUnit + "): systemd starts keymux on the first connection");
    } else if (!systemd) {
      report.note(UserUnits.SOCKET + " is installed (" + socketUnit + ", " + state + ") but this machine does not run systemd "
          + "(no " + booted + "): the units take effect only where systemd runs");
    } else if (state.equals("masked")) {
      report.problem(UserUnits.SOCKET + " is masked: systemd will not start keymux",
          "systemctl --user unmask " + UserUnits.SOCKET + " && systemctl --user enable --now " + UserUnits.SOCKET);
    } else {
      report.problem(UserUnits.SOCKET + " is installed but not enabled (" + state + "): keymux does not start with your session",
          "systemctl --user enable --now " + UserUnits.SOCKET);
    }
  }

  /** systemctl's word for keymux.socket (enabled, disabled, masked, ...), or the sockets.target.wants link without systemctl. */
  private static String unitState(Path units) {
    Programs.Outcome r = UserUnits.systemctl("is-enabled", UserUnits.SOCKET);
    String word = r.firstLine().strip();
    if (r.exitCode() >= 0 && word.matches("[a-z-]+")) {
      return word;
    }
    return Files.exists(units.resolve("sockets.target.wants").resolve(UserUnits.SOCKET)) ? "enabled" : "disabled";
  }

  /**
   * Whether SSH_AUTH_SOCK reaches commands run with sudo. Dropping it is sudo's default and may be
   * wanted, and keymux offers narrower ways than keeping it for every sudo call: so this is a
   * note, never a problem. sudoers is usually readable by root only; then {@code sudo -n -l} is
   * asked, which lists the defaults without a password only where sudo needs none — but only of a
   * member of the usual admin groups, since sudo may report anyone else as an incident.
   */
  private void checkSudo() {
    Path sudoers = systemRoot.resolve("etc/sudoers");
    if (!Files.exists(sudoers)) {
      report.note("sudo is not installed (no " + sudoers + ")");
      return;
    }
    Sudoers.Verdict v;
    try {
      v = Sudoers.read(sudoers, systemRoot, System.getProperty("user.name"), hostName());
    } catch (IOException e) {
      if (!mayAdminister(Programs.run(SUDO_TIMEOUT, List.of("id", "-Gn")).output())) {
        // asking sudo as a user it does not know may log or mail "user NOT in sudoers"
        report.note("cannot tell whether sudo keeps SSH_AUTH_SOCK without reading sudoers (" + e.getMessage()
                + "); you are in none of the groups sudo, wheel or admin, so keymux does not ask sudo",
            "check: sudo -l | grep SSH_AUTH_SOCK");
        return;
      }
      Programs.Outcome list = Programs.run(SUDO_TIMEOUT, List.of("sudo", "-n", "-l"));
      v = list.ok() ? Sudoers.fromSudoList(list.output()) : null;
      if (v == null) {
        report.note("cannot tell whether sudo keeps SSH_AUTH_SOCK: " + sudoers + " is not readable (" + e.getMessage()
                + ") and sudo -n -l says: " + list.firstLine(),
            "see for yourself: sudo -l | grep -E 'env_keep|env_reset'   (or: sudo sh -c 'echo \"$SSH_AUTH_SOCK\"')");
        return;
      }
    }
    for (Path p : v.unreadable()) {
      report.note("could not read " + p + ", which sudoers includes; the sudo verdict below leaves it out");
    }
    if (v.kept()) {
      report.ok("sudo keeps SSH_AUTH_SOCK (" + v.because() + "); keymux lets root use its main socket");
      return;
    }
    report.note("sudo drops SSH_AUTH_SOCK (" + v.because() + "): `sudo git fetch` or `sudo ssh` find no agent; "
            + "fine if that is on purpose",
        "echo 'Defaults env_keep += \"SSH_AUTH_SOCK\"' | sudo tee /etc/sudoers.d/keymux && sudo chmod 0440 /etc/sudoers.d/keymux"
            + " && sudo visudo -c",
        "for one command: sudo SSH_AUTH_SOCK=\"$SSH_AUTH_SOCK\" git fetch   (keymux lets root use its main socket)",
        "narrower, some keys for a while: keymux grant --uid 0 --keys PATTERN --for 10m, then sudo SSH_AUTH_SOCK=<the socket it "
            + "prints> git fetch");
  }

  /** Whether {@code id -Gn}'s answer names one of the groups distributions give sudo rights: sudo, wheel, admin. */
  public static boolean mayAdminister(String groupNames) {
    for (String g : groupNames.strip().split("\\s+")) {
      if (g.equals("sudo") || g.equals("wheel") || g.equals("admin")) {
        return true;
      }
    }
    return false;
  }

  /** This host's name for {@code Defaults@host}, without asking DNS. */
  private static String hostName() {
    try {
      return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
    } catch (IOException e) {
      return "";
    }
  }

  /**
   * Containers: whether each scoped socket's admitted peers can open it, and with {@code --container}
   * whether they really do. With Docker installed, a note that the main socket serves only your
   * uid and root, and the scoped socket that serves a container user instead.
   */
  private void checkContainers(KeymuxSettings settings, Map<String, String> env) {
    List<SocketSettings> scoped = settings.policy().sockets();
    SocketReach reach = new SocketReach(report, Posix.currentUid(), Posix.currentGid());
    scoped.forEach(reach::check);
    if (onPath("docker", env)) {
      String main = env.getOrDefault("SSH_AUTH_SOCK", "").isEmpty() ? settings.socketPath().toString() : "$SSH_AUTH_SOCK";
      String instead = scoped.isEmpty()
          ? "give containers a scoped socket with only the keys they need: keymux.sockets.container { backends = [deploy], "
              + "allow-uids = [0, 1000], group = \"1000\", mode = \"0660\" } (docs/examples/container-host.conf), then mount "
              + "its directory: -v \"$XDG_RUNTIME_DIR/keymux/container:" + SocketReach.MOUNT + "\" -e SSH_AUTH_SOCK="
              + SocketReach.MOUNT + "/agent.sock"
          : "mount a scoped socket's directory instead: -v " + scoped.get(0).path().getParent() + ":" + SocketReach.MOUNT
              + " -e SSH_AUTH_SOCK=" + SocketReach.MOUNT + "/" + scoped.get(0).path().getFileName();
      report.note("Docker is installed: a container given keymux's main socket (-v " + main + ":/ssh-agent) can use it only when "
          + "it runs as uid " + Posix.currentUid() + " (you) or root: the socket is 0600 in a 0700 directory and admits only you, "
          + "root and keymux.socket.allowed-uids", instead);
    }
    if (containerImage != null) {
      if (scoped.isEmpty()) {
        report.problem("--container " + containerImage + ": no scoped socket is configured to try",
            "add one under keymux.sockets (docs/policy.md, Scoped sockets), restart keymux, then run keymux doctor --container "
                + containerImage + " again");
      }
      scoped.forEach(s -> reach.tryContainer(s, containerImage));
    }
  }

  /** Whether an executable {@code name} is in one of $PATH's directories. */
  private static boolean onPath(String name, Map<String, String> env) {
    for (String d : env.getOrDefault("PATH", "").split(":")) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
        return true;
      }
    }
    return false;
  }

  /** This user's agent sockets in the usual places: ssh-agent's /tmp dirs, GNOME, gcr, gpg-agent. */
  private static List<Path> otherAgentSockets(String xdg, Map<String, String> env) {
    Set<Path> found = new LinkedHashSet<>();
    int uid = Posix.currentUid();
    Path tmp = Path.of(env.getOrDefault("TMPDIR", "/tmp"));
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(tmp, "ssh-*")) {
      for (Path d : dirs) {
        try {
          if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS) || (Integer) Files.getAttribute(d, "unix:uid") != uid) {
            continue;
          }
          try (DirectoryStream<Path> socks = Files.newDirectoryStream(d, "agent.*")) {
            for (Path s : socks) {
              // Only sockets: an agent may keep other files beside its socket (keymux agent's SOCKET.log).
              if (Files.readAttributes(s, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
                found.add(s);
              }
            }
          }
        } catch (IOException | DirectoryIteratorException ignored) {
          // gone since the listing, or unreadable: not ours to judge; the other directories still count
        }
      }
    } catch (IOException | DirectoryIteratorException ignored) {
      // no such directory, or it went unreadable while listed
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
