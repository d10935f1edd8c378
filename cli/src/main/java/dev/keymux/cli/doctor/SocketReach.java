package dev.keymux.cli.doctor;

import dev.keymux.cli.Programs;
import dev.keymux.cli.daemon.Daemon;
import dev.keymux.config.policy.SocketSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Whether the peers a scoped socket admits ({@code allow-uids}, {@code allow-gids}) can open it at
 * all. keymux checks each peer's credentials, but the kernel checks the file modes first: the
 * socket needs write permission and its directory search permission for that peer, or a
 * container is refused with "Permission denied" before keymux ever sees it.
 *
 * <p>Two questions, because a container and a process on this host reach the socket differently:
 * <ul>
 *   <li>A container mounts the socket's own directory ({@code -v DIR:/run/keymux}); only that
 *       directory's mode and the socket's count. Failing here is a PROBLEM: the socket is useless
 *       to the peer it names.
 *   <li>A process of another host user (a grant, a CI service account) walks the whole path, so
 *       every directory above must let it search too. Failing there is a NOTE: containers are not
 *       affected, and the fix is to move the socket, never to open a private 0700 directory such
 *       as XDG_RUNTIME_DIR, which holds the user's other sockets.
 * </ul>
 *
 * <p>Which groups a uid has: inside a container started with {@code --user U:U} its gid is U, on
 * this host whatever {@code id -G U} says; both are taken into account. A peer admitted by gid is
 * assumed not to own the files. Root passes every mode check.
 */
final class SocketReach {
  private static final Duration LOOKUP_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration CONTAINER_TIMEOUT = Duration.ofSeconds(120);
  /** Where {@code --container} mounts a scoped socket's directory, as docs/policy.md shows it. */
  static final String MOUNT = "/run/keymux";

  private final DoctorReport report;
  private final int ownUid;
  private final int ownGid;

  SocketReach(DoctorReport report, int ownUid, int ownGid) {
    this.report = report;
    this.ownUid = ownUid;
    this.ownGid = ownGid;
  }

  /** Owner, group and permission bits of a file. */
  record Node(Path path, int uid, int gid, int mode) {
    /** Whether a peer with {@code uid} and {@code groups} has all of {@code bits} (04 read, 02 write, 01 search). */
    boolean allows(int peerUid, Set<Integer> groups, int bits) {
      if (peerUid == 0) {
        return true;
      }
      int shift = peerUid == uid ? 6 : groups.contains(gid) ? 3 : 0;
      return ((mode >> shift) & bits) == bits;
    }

    String describe() {
      return path + " (mode " + String.format("%04o", mode) + ", owner uid " + uid + ", group " + gid + ")";
    }

    static Node of(Path p) throws IOException {
      return new Node(p, (Integer) Files.getAttribute(p, "unix:uid"), (Integer) Files.getAttribute(p, "unix:gid"),
          (Integer) Files.getAttribute(p, "unix:mode") & 07777);
    }
  }

  /** A peer a socket admits: by uid (gid unknown) or by gid (uid unknown, not the owner). */
  private record Peer(String label, int uid, Set<Integer> groups, boolean hostAccount) {}

  void check(SocketSettings s) {
    Node socket;
    Node dir;
    try {
      socket = fileOrPlanned(s.path(), s, s.mode());
      dir = fileOrPlanned(s.path().getParent(), s, Daemon.access(s).directoryMode());
    } catch (IOException | IllegalArgumentException e) {
      report.problem("scoped socket " + s.name() + ": cannot tell who may reach " + s.path() + ": " + e.getMessage(),
          "check keymux.sockets." + s.name() + ".owner and .group: keymux policy check");
      return;
    }
    List<Peer> peers = peers(s);
    if (peers.isEmpty()) {
      report.ok("scoped socket " + s.name() + " (" + s.path() + "): only you (uid " + ownUid + ") may connect");
      return;
    }
    List<String> blocked = new ArrayList<>();
    for (Peer p : peers) {
      if (!dir.allows(p.uid(), p.groups(), 01)) {
        blocked.add(p.label() + " cannot enter " + dir.describe());
      } else if (!socket.allows(p.uid(), p.groups(), 02)) {
        blocked.add(p.label() + " cannot open " + socket.describe() + " (connecting needs write permission)");
      }
    }
    if (!blocked.isEmpty()) {
      report.problem("scoped socket " + s.name() + " admits peers the file modes keep out, also in a container that mounts "
          + dir.path() + ": " + String.join("; ", blocked), modeFix(s, peers), groupFix(s, peers));
      return;
    }
    report.ok("scoped socket " + s.name() + " (" + s.path() + "): " + peers.stream().map(Peer::label).collect(Collectors.joining(", "))
        + " may open it; containers mount its directory: -v " + dir.path() + ":" + MOUNT + " -e SSH_AUTH_SOCK=" + MOUNT + "/"
        + s.path().getFileName());
    for (Peer p : peers) {
      if (p.hostAccount()) {
        checkPathFromHost(s, dir.path(), p);
      }
    }
  }

  private static String modeFix(SocketSettings s, List<Peer> peers) {
    return "keymux.sockets." + s.name() + ".mode = \"0666\" (the directory follows; keymux's peer check still admits only you and "
        + peers.stream().map(Peer::label).collect(Collectors.joining(", ")) + "), then restart keymux";
  }

  /** Letting one group in instead: the gid of a container run as --user N:N, or the admitted gid. */
  private static String groupFix(SocketSettings s, List<Peer> peers) {
    Peer p = peers.stream().filter(x -> x.uid() != 0).findFirst().orElse(peers.get(0));
    int gid = p.uid() >= 0 ? p.uid() : p.groups().iterator().next();
    return "keymux.sockets." + s.name() + " { group = \"" + gid + "\", mode = \"0660\" } lets group " + gid
        + (p.uid() >= 0 ? " in (a container run with --user " + gid + ":" + gid + ")" : " in")
        + "; keymux's user must belong to that group unless keymux runs as root; then restart keymux";
  }

  /** A host user's walk down the path: every directory above the socket's own must let it search. */
  private void checkPathFromHost(SocketSettings s, Path ownDir, Peer p) {
    for (Path a = ownDir.getParent(); a != null; a = a.getParent()) {
      Node n;
      try {
        n = Node.of(a);
      } catch (IOException e) {
        continue; // not there yet: keymux creates it
      }
      if (!n.allows(p.uid(), p.groups(), 01)) {
        report.note("scoped socket " + s.name() + ": processes of " + p.label() + " on this host cannot reach " + s.path() + ": "
                + n.describe() + " is closed to them (containers that mount " + ownDir + " are not affected)",
            "move the socket where every directory above it is searchable, rather than opening " + a + ": keymux.sockets."
                + s.name() + ".path = \"/tmp/keymux-" + ownUid + "-" + s.name() + "/agent.sock\" (keymux gives its own "
                + "directory the socket's mode), then restart keymux");
        return;
      }
    }
  }

  /** The file as it is, or as keymux will create it when it is not there yet. */
  private Node fileOrPlanned(Path p, SocketSettings s, int mode) throws IOException {
    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return Node.of(p);
    }
    int uid = s.owner().isEmpty() ? ownUid : Accounts.uid(s.owner());
    int gid = s.group().isEmpty() ? ownGid : Accounts.gid(s.group());
    return new Node(p, uid, gid, mode);
  }

  private List<Peer> peers(SocketSettings s) {
    List<Peer> peers = new ArrayList<>();
    for (int uid : new TreeSet<>(s.allowUids())) {
      if (uid == ownUid) {
        continue;
      }
      Set<Integer> host = Accounts.groups(uid);
      Set<Integer> groups = new HashSet<>(host);
      groups.add(uid); // docker run --user U:U
      peers.add(new Peer("uid " + uid, uid, groups, uid != 0 && !host.isEmpty()));
    }
    for (int gid : new TreeSet<>(s.allowGids())) {
      peers.add(new Peer("gid " + gid, -1, Set.of(gid), false));
    }
    return peers;
  }

  /**
   * {@code keymux doctor --container IMAGE}: really runs {@code ssh-add -l} in a container of
   * IMAGE for every peer the socket admits, with the socket's directory mounted as documented and
   * no network. Only exit 0 (keys) or 1 with "The agent has no identities." means the agent
   * answered: ssh-add exits 1 too when the connection is closed before an answer ("error
   * fetching identities"), which is how keymux turns away a peer it does not admit.
   */
  void tryContainer(SocketSettings s, String image) {
    List<String> users = new ArrayList<>();
    for (int uid : new TreeSet<>(s.allowUids())) {
      users.add(uid + ":" + uid);
    }
    for (int gid : new TreeSet<>(s.allowGids())) {
      users.add("65534:" + gid); // nobody, in the admitted group
    }
    if (users.isEmpty()) {
      users.add(ownUid + ":" + ownGid);
    }
    Path dir = s.path().getParent();
    for (String user : users) {
      List<String> cmd = List.of("docker", "run", "--rm", "--network", "none", "--user", user, "-v", dir + ":" + MOUNT,
          "-e", "SSH_AUTH_SOCK=" + MOUNT + "/" + s.path().getFileName(), image, "ssh-add", "-l");
      Programs.Outcome r = Programs.run(CONTAINER_TIMEOUT, cmd);
      String what = "scoped socket " + s.name() + " in a container of " + image + " as --user " + user;
      Long keys = answeredKeys(r);
      if (keys != null) {
        report.ok(what + ": the agent answers (" + keys + " key(s))");
      } else if (r.exitCode() == 1 || r.exitCode() == 2) {
        report.problem(what + ": ssh-add -l says: " + r.output().strip().lines().collect(Collectors.joining("; ")),
            "see the check of scoped socket " + s.name() + " above; is keymux running (keymux serve)?",
            "keymux closes connections from uids the socket does not admit, and sees the host's uid: with userns-remap "
                + "or rootless Docker a container's uid is another one on the host (check: ps -o uid= -p <pid> on the host)");
      } else {
        report.problem(what + ": docker could not run it: " + r.firstLine(),
            "make sure the Docker engine runs (docker version) and the image exists locally (docker image ls " + image + ")");
      }
    }
  }

  /**
   * How many keys {@code ssh-add -l} listed when the agent answered, 0 for "The agent has no
   * identities."; null when it did not answer (a refused or broken connection exits 1 too).
   */
  static Long answeredKeys(Programs.Outcome r) {
    if (r.exitCode() == 0) {
      return r.output().lines().filter(l -> l.matches("\\d+ \\S+:\\S+ .*")).count();
    }
    if (r.exitCode() == 1 && r.output().contains("The agent has no identities.")) {
      return 0L;
    }
    return null;
  }

  /** User and group lookups through getent and id, so NSS sources (LDAP, systemd-homed) count too. */
  static final class Accounts {
    private Accounts() {}

    static int uid(String owner) throws IOException {
      return owner.matches("\\d+") ? Integer.parseInt(owner) : field(List.of("getent", "passwd", owner), 2, "user " + owner);
    }

    static int gid(String group) throws IOException {
      return group.matches("\\d+") ? Integer.parseInt(group) : field(List.of("getent", "group", group), 2, "group " + group);
    }

    /** The host groups of {@code uid}; empty when this host has no such user. */
    static Set<Integer> groups(int uid) {
      Programs.Outcome r = Programs.run(LOOKUP_TIMEOUT, List.of("id", "-G", "--", Integer.toString(uid)));
      Set<Integer> out = new HashSet<>();
      if (r.ok()) {
        for (String g : r.output().strip().split("\\s+")) {
          if (g.matches("\\d+")) {
            out.add(Integer.parseInt(g));
          }
        }
      }
      return out;
    }

    private static int field(List<String> cmd, int index, String what) throws IOException {
      Programs.Outcome r = Programs.run(LOOKUP_TIMEOUT, cmd);
      String[] f = r.output().strip().split(":");
      if (!r.ok() || f.length <= index || !f[index].matches("\\d+")) {
        throw new IOException("no " + what + " on this host");
      }
      return Integer.parseInt(f[index]);
    }
  }
}
