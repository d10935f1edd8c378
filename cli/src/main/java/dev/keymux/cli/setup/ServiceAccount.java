package dev.keymux.cli.setup;

import dev.keymux.backend.file.PreloadedKeys;
import dev.keymux.cli.Programs;
import dev.keymux.cli.UserError;
import dev.keymux.cli.daemon.Headless;
import dev.keymux.core.server.Posix;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * keymux for a service account (a CI runner or build daemon that systemd starts at boot, with no
 * user session): the system template units {@code keymux@.socket} and {@code keymux@.service},
 * instance = the account. The socket is {@code /run/keymux/NAME/agent.sock}, the account's alone;
 * the service runs headless as the account with the deploy keys of the root-owned
 * {@code /etc/keymux/NAME/keys}, handed over by systemd as a credential (never from the account's
 * home or environment), and hardened as far as a JVM allows. docs/ci.md says when to pick this
 * and when {@code keymux ci start}.
 */
public final class ServiceAccount {
  static final String MARKER = "# Written by `keymux install --system`; `keymux uninstall --system` removes it.";
  public static final String SOCKET = "keymux@.socket";
  public static final String SERVICE = "keymux@.service";
  /** An account name systemd accepts as an instance and useradd as a user. */
  private static final Pattern NAME = Pattern.compile("[a-z_][a-z0-9_-]{0,31}");
  /** Where ProtectHome= hides files from the service: its jar and archive must live elsewhere. */
  private static final List<String> HIDDEN_BY_PROTECT_HOME = List.of("/home", "/root", "/run/user");

  private final String account;
  /** "/" on a real machine; the tests' stand-in directory otherwise. */
  private final Path root;

  public ServiceAccount(String account, Path root) {
    if (!NAME.matcher(account).matches()) {
      throw new UserError("--account " + account + ": not an account name (lower-case letters, digits, _ and -)");
    }
    this.account = account;
    this.root = root;
  }

  public String name() {
    return account;
  }

  public Path socket() {
    return runDirectory().resolve("agent.sock");
  }

  private Path runDirectory() {
    return root.resolve("run/keymux").resolve(account);
  }

  /** /etc/keymux/NAME: root's, 0711, so the account may look up the files it knows but list none. */
  public Path configDirectory() {
    return root.resolve("etc/keymux").resolve(account);
  }

  public Path keysFile() {
    return configDirectory().resolve("keys");
  }

  public Path configFile() {
    return configDirectory().resolve("keymux.conf");
  }

  public Path unitDirectory() {
    return root.resolve("etc/systemd/system");
  }

  public String instance(String template) {
    return template.replace("@.", "@" + account + ".");
  }

  /** The socket unit, shared by every account: systemd makes the account's directory, then binds. */
  public String socketUnit() {
    Path run = root.resolve("run/keymux");
    return MARKER + "\n"
        + "[Unit]\n"
        + "Description=keymux SSH agent socket of service account %i\n"
        + "\n"
        + "[Socket]\n"
        + "# The account's own directory, 0700, made before the socket is bound.\n"
        + "ExecStartPre=/usr/bin/install -d -m 0755 " + run + "\n"
        + "ExecStartPre=/usr/bin/install -d -m 0700 -o %i " + run + "/%i\n"
        + "ListenStream=" + run + "/%i/agent.sock\n"
        + "SocketUser=%i\n"
        + "SocketMode=0600\n"
        + "RemoveOnStop=yes\n"
        + "\n"
        + "[Install]\n"
        + "WantedBy=sockets.target\n";
  }

  /**
   * The service unit: keymux headless as the account, on {@code java} with keymux's JVM options
   * and, when there are, the archive and native library made for {@code jar}.
   */
  public String serviceUnit(DaemonJvm.Java java, Path jar, Optional<Path> archive, Optional<Path> nativeLibrary) {
    Path etc = root.resolve("etc/keymux");
    List<String> words = new ArrayList<>();
    words.add(java.binary().toString());
    words.addAll(DaemonJvm.options(java.feature()));
    archive.ifPresent(a -> words.addAll(java.useArchive(a)));
    nativeLibrary.ifPresent(l -> words.addAll(DaemonJvm.useNativeLibrary(l)));
    words.addAll(List.of("-jar", jar.toString(), "serve", "--headless"));
    String exec = String.join(" ", words.stream().map(UserUnits::execArgument).toList());
    return MARKER + "\n"
        + "[Unit]\n"
        + "Description=keymux SSH agent of service account %i\n"
        + "Requires=keymux@%i.socket\n"
        + "After=keymux@%i.socket\n"
        + "\n"
        + "[Service]\n"
        + "User=%i\n"
        + "# JVM options: keymux's jvm.options (docs/architecture.md, \"Start-up and memory\").\n"
        + "ExecStart=" + exec + " --config " + etc + "/%i/keymux.conf\n"
        + "ExecReload=/bin/kill -HUP $MAINPID\n"
        + "# The deploy keys: root's file, handed over by systemd; keymux reads $CREDENTIALS_DIRECTORY/keys\n"
        + "# and refuses to start when the file is readable by anyone but root.\n"
        + "LoadCredential=" + Headless.CREDENTIAL + ":" + etc + "/%i/keys\n"
        + "Environment=" + Headless.CREDENTIAL_SOURCE_VARIABLE + "=" + etc + "/%i/keys\n"
        + "# Hardening. The JIT needs memory that is writable and executable: no MemoryDenyWriteExecute=.\n"
        + "NoNewPrivileges=yes\n"
        + "ProtectSystem=strict\n"
        + "ProtectHome=yes\n"
        + "PrivateTmp=yes\n"
        + "PrivateDevices=yes\n"
        + "PrivateNetwork=yes\n"
        + "RestrictAddressFamilies=AF_UNIX\n"
        + "UMask=0077\n"
        + "CapabilityBoundingSet=\n"
        + "ProtectKernelTunables=yes\n"
        + "ProtectKernelModules=yes\n"
        + "ProtectKernelLogs=yes\n"
        + "ProtectControlGroups=yes\n"
        + "ProtectClock=yes\n"
        + "ProtectHostname=yes\n"
        + "RestrictNamespaces=yes\n"
        + "RestrictRealtime=yes\n"
        + "RestrictSUIDSGID=yes\n"
        + "LockPersonality=yes\n"
        + "SystemCallArchitectures=native\n"
        + "SystemCallFilter=@system-service\n"
        + "\n"
        + "[Install]\n"
        + "Also=keymux@%i.socket\n";
  }

  /** The configuration the service reads: headless, keys only from the credential (no key files). */
  static final String STARTER_CONFIG = """
      # keymux configuration of a service account, written by `keymux install --system`.
      # Every setting is in keymux's reference.conf; this file overrides what it names.
      # Check it with: keymux policy check --config THIS_FILE
      keymux {
        headless = true
        # The account's home is hidden from the service (ProtectHome=yes): no key files from it.
        backends.files = null
      }
      """;

  /** {@code install --system --print}: the units as they would be written; nothing changes. */
  public void print(PrintWriter out, DaemonJvm.Java java, Path jar, boolean archive) {
    Path file = archiveFor(jar, java);
    boolean useArchive = archive && file.startsWith(jar.getParent());
    out.println("# " + unitDirectory().resolve(SOCKET));
    out.print(socketUnit());
    out.println();
    out.println("# " + unitDirectory().resolve(SERVICE));
    out.print(serviceUnit(java, jar, useArchive ? Optional.of(file) : Optional.empty(),
        useArchive ? Optional.of(DaemonJvm.nativeLibrary(file)) : Optional.empty()));
    out.flush();
  }

  /**
   * Installs for the account: the template units (once for all accounts), /etc/keymux/NAME with
   * the deploy keys ({@code keys}: copied, else the file already there) and the starter
   * configuration, then enables and starts the account's socket unless {@code enable} is false.
   * Everything is checked first, so a bad input changes nothing.
   */
  public int install(PrintWriter out, PrintWriter err, DaemonJvm.Java java, Path jar, Optional<Path> keys,
      boolean archive, boolean enable) throws IOException {
    requireRoot("install");
    int uid = uidOf(account);
    for (String hidden : HIDDEN_BY_PROTECT_HOME) {
      if (jar.startsWith(hidden)) {
        throw new UserError("the service could not read " + jar + " (ProtectHome= hides " + hidden
            + "); put keymux's jar under /usr, /opt or /srv first");
      }
    }
    Path keysSource = keys.orElse(keysFile());
    if (!Files.isRegularFile(keysSource)) {
      throw new UserError(keys.isPresent() ? "--keys " + keysSource + ": no such file"
          : "no deploy keys for " + account + ": pass --keys FILE (copied to " + keysFile()
              + ", root's, mode 0600), or put them there first");
    }
    checkKeys(keysSource);
    Path socketUnit = unitDirectory().resolve(SOCKET);
    Path serviceUnit = unitDirectory().resolve(SERVICE);
    for (Path unit : List.of(socketUnit, serviceUnit)) {
      if (Files.exists(unit) && !ours(unit)) {
        throw new UserError(unit + " exists and was not written by keymux install --system; move it away first");
      }
    }

    Optional<Path> made = Optional.empty();
    Optional<Path> library = Optional.empty();
    if (archive) {
      Path file = archiveFor(jar, java);
      if (!file.startsWith(jar.getParent())) {
        err.println("keymux: no start-up archive: " + jar.getParent() + " is not writable; the service starts without one");
      } else {
        Path copy = DaemonJvm.nativeLibrary(file);
        if (DaemonJvm.copyNativeLibrary(jar, copy).isEmpty()) {
          library = Optional.of(copy);
        }
        Optional<String> problem = DaemonJvm.train(java, jar, file);
        if (problem.isEmpty()) {
          made = Optional.of(file);
          out.println("made the start-up archive " + file + " (Java " + java.feature() + ")");
        } else {
          err.println("keymux: no start-up archive (" + problem.get() + "); the service starts without one, only slower");
        }
      }
    }

    Files.createDirectories(unitDirectory());
    Files.writeString(socketUnit, socketUnit());
    Files.writeString(serviceUnit, serviceUnit(java, jar, made, library));
    out.println("wrote " + socketUnit);
    out.println("wrote " + serviceUnit);
    Path dir = configDirectory();
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    Posix.setOwnership(dir, "0", "0");
    if (keys.isPresent()) {
      Path tmp = Files.createTempFile(dir, ".keys.", ".tmp");
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
      Files.copy(keysSource, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.move(tmp, keysFile(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      out.println("copied the deploy keys to " + keysFile() + " (root's, mode 0600)");
    }
    Posix.setOwnership(keysFile(), "0", "0");
    Files.setPosixFilePermissions(keysFile(), PosixFilePermissions.fromString("rw-------"));
    if (!Files.exists(configFile())) {
      Files.writeString(configFile(), STARTER_CONFIG);
      Files.setPosixFilePermissions(configFile(), PosixFilePermissions.fromString("rw-r--r--"));
      out.println("wrote " + configFile());
    } else {
      out.println("kept the existing configuration " + configFile());
    }

    String unit = instance(SOCKET);
    int status = 0;
    if (!enable) {
      out.println("not enabled (--no-enable); to start it: systemctl daemon-reload && systemctl enable --now " + unit);
    } else {
      Programs.Outcome reload = systemctl("daemon-reload");
      Programs.Outcome enabled = reload.ok() ? systemctl("enable", "--now", unit) : reload;
      if (enabled.ok()) {
        out.println("enabled and started " + unit + " (keymux starts on the first connection of uid " + uid + ")");
      } else {
        err.println("keymux: could not enable " + unit + ": " + enabled.firstLine());
        err.println("  the files are written; on a machine that runs systemd: systemctl daemon-reload && "
            + "systemctl enable --now " + unit);
        status = 1;
      }
    }
    out.println();
    out.println("Jobs of " + account + " use it with:");
    out.println(Shell.POSIX.exportLine(socket()));
    return status;
  }

  /**
   * Stops and disables the account's units, and removes the template units once no other
   * account's socket is enabled. The deploy keys and configuration in /etc/keymux/NAME stay.
   */
  public int uninstall(PrintWriter out, PrintWriter err, boolean disable) throws IOException {
    requireRoot("uninstall");
    int status = 0;
    if (disable) {
      Programs.Outcome r = systemctl("disable", "--now", instance(SOCKET), instance(SERVICE));
      if (!r.ok()) {
        err.println("keymux: systemctl disable " + instance(SOCKET) + ": " + r.firstLine());
        status = 1;
      }
    }
    Path wants = unitDirectory().resolve("sockets.target.wants");
    Files.deleteIfExists(wants.resolve(instance(SOCKET)));
    if (othersEnabled(wants)) {
      out.println("kept " + SOCKET + " and " + SERVICE + ": other accounts still use them");
    } else {
      for (String name : List.of(SOCKET, SERVICE)) {
        Path unit = unitDirectory().resolve(name);
        if (ours(unit)) {
          Files.delete(unit);
          out.println("removed " + unit);
        } else if (Files.exists(unit)) {
          err.println("keymux: kept " + unit + ": keymux install did not write it");
        }
      }
      if (disable) {
        systemctl("daemon-reload");
      }
    }
    out.println("kept " + configDirectory() + " (the deploy keys and configuration; remove it yourself when done)");
    return status;
  }

  private boolean othersEnabled(Path wants) throws IOException {
    if (!Files.isDirectory(wants)) {
      return false;
    }
    try (DirectoryStream<Path> links = Files.newDirectoryStream(wants, "keymux@*.socket")) {
      return links.iterator().hasNext();
    }
  }

  private static boolean ours(Path unit) throws IOException {
    return Files.isRegularFile(unit, LinkOption.NOFOLLOW_LINKS) && Files.readString(unit).startsWith(MARKER);
  }

  /** The deploy keys must be usable headless: no passphrase, well-formed, repository tags valid. */
  private static void checkKeys(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    List<PreloadedKeys.Key> parsed = List.of();
    try {
      parsed = PreloadedKeys.parse(bytes, file.toString());
      if (parsed.isEmpty()) {
        throw new UserError(file + " holds no key");
      }
      Headless.rules(parsed, List.of());
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage(), e);
    } finally {
      Arrays.fill(bytes, (byte) 0);
      parsed.forEach(k -> k.key().close());
    }
  }

  private void requireRoot(String what) {
    if (Posix.currentUid() != 0) {
      throw new UserError(what + " --system writes " + unitDirectory() + " and " + configDirectory()
          + ": run it as root (sudo keymux " + what + " --system --account " + account + ")");
    }
  }

  /** The account's uid; a UserError when this host has no such account. */
  public static int uidOf(String account) {
    return Programs.uidOf(account).orElseThrow(
        () -> new UserError("no such account: " + account + " (make it first, e.g. useradd --system " + account + ")"));
  }

  /** Where the archive goes: beside the jar, never in root's cache directory, which the service cannot read. */
  private static Path archiveFor(Path jar, DaemonJvm.Java java) {
    return DaemonJvm.archive(jar, java, Map.of("HOME", "/nonexistent", "XDG_CACHE_HOME", "/nonexistent"));
  }

  private static Programs.Outcome systemctl(String... args) {
    return UserUnits.systemctl(false, args);
  }
}
