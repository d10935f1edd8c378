package dev.keymux.cli.setup;

import dev.keymux.cli.Programs;
import dev.keymux.cli.UserError;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * keymux's systemd user units: {@code keymux.socket} (systemd holds the agent socket and starts
 * keymux on the first connection) and {@code keymux.service}. Both carry {@link #MARKER}, so
 * {@code keymux uninstall} removes only files {@code keymux install} wrote.
 */
public final class UserUnits {
  /** First line of every unit keymux writes; a file without it is the user's own. */
  static final String MARKER = "# Written by `keymux install`; `keymux uninstall` removes it.";
  public static final String SOCKET = "keymux.socket";
  public static final String SERVICE = "keymux.service";
  /** How long one systemctl call may take before it counts as failed. */
  private static final Duration SYSTEMCTL_TIMEOUT = Duration.ofSeconds(30);

  private UserUnits() {}

  /** $XDG_CONFIG_HOME, else ~/.config. */
  public static Path configHome(Map<String, String> env) {
    String xdg = env.getOrDefault("XDG_CONFIG_HOME", "");
    return !xdg.isEmpty() ? Path.of(xdg) : Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".config");
  }

  /** Where systemd looks for a user's own units. */
  public static Path unitDirectory(Map<String, String> env) {
    return configHome(env).resolve("systemd").resolve("user");
  }

  public static String socketUnit() {
    return MARKER + "\n"
        + "[Unit]\n"
        + "Description=keymux SSH agent socket\n"
        + "\n"
        + "[Socket]\n"
        + "# %t is $XDG_RUNTIME_DIR: the path `keymux env` points SSH_AUTH_SOCK at.\n"
        + "ListenStream=%t/keymux/agent.sock\n"
        + "SocketMode=0600\n"
        + "DirectoryMode=0700\n"
        + "\n"
        + "[Install]\n"
        + "WantedBy=sockets.target\n";
  }

  /**
   * The service runs {@code jar} on {@code java} by absolute paths, with keymux's JVM options and,
   * when there are, the class-data archive made for that jar and Java and the copy of junixsocket's
   * native library made with it.
   */
  public static String serviceUnit(DaemonJvm.Java java, Path jar, Optional<Path> archive, Optional<Path> nativeLibrary) {
    List<String> words = new ArrayList<>();
    words.add(java.binary().toString());
    words.addAll(DaemonJvm.options(java.feature()));
    archive.ifPresent(a -> words.addAll(java.useArchive(a)));
    nativeLibrary.ifPresent(l -> words.addAll(DaemonJvm.useNativeLibrary(l)));
    words.addAll(List.of("-jar", jar.toString(), "serve"));
    return MARKER + "\n"
        + "[Unit]\n"
        + "Description=keymux SSH agent multiplexer\n"
        + "Requires=" + SOCKET + "\n"
        + "After=" + SOCKET + "\n"
        + "\n"
        + "[Service]\n"
        + "# JVM options: keymux's jvm.options (docs/architecture.md, \"Start-up and memory\").\n"
        + "ExecStart=" + String.join(" ", words.stream().map(UserUnits::execArgument).toList()) + "\n"
        + "# SIGHUP re-reads the configuration.\n"
        + "ExecReload=/bin/kill -HUP $MAINPID\n"
        + "\n"
        + "[Install]\n"
        + "Also=" + SOCKET + "\n";
  }

  /**
   * One ExecStart= word: systemd expands % specifiers and $ variables and splits at whitespace,
   * so those are escaped and a path with spaces or quotes is double-quoted.
   */
  static String execArgument(String word) {
    String escaped = word.replace("%", "%%").replace("$", "$$");
    if (!escaped.matches("[A-Za-z0-9_./+:@=,%$-]+")) { // no whitespace, quotes or backslashes
      escaped = "\"" + escaped.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
    return escaped;
  }

  /** The Java the service runs on: the best one here (see {@link DaemonJvm#best}). */
  public static DaemonJvm.Java java(Map<String, String> env) {
    return DaemonJvm.best(env, Path.of(System.getProperty("java.home")).toAbsolutePath(), Path.of("/usr/lib/jvm"));
  }

  /** The keymux jar running us; a UserError when keymux does not run from its jar (a development classpath). */
  public static Path runningJar() {
    Path p;
    try {
      p = Path.of(UserUnits.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath().normalize();
    } catch (URISyntaxException | RuntimeException e) {
      throw new UserError("cannot tell which keymux jar is running: " + e.getMessage(), e);
    }
    if (!Files.isRegularFile(p) || !p.getFileName().toString().endsWith(".jar")) {
      throw new UserError("keymux is not running from its jar (" + p + "); run `java -jar keymux.jar install`");
    }
    return p;
  }

  /** True when {@code unit} exists and keymux install wrote it. */
  public static boolean ours(Path unit) throws IOException {
    return Files.isRegularFile(unit) && Files.readString(unit).startsWith(MARKER);
  }

  /** Runs {@code systemctl --user ARGS}, never throwing: a missing systemctl is an outcome too. */
  public static Programs.Outcome systemctl(String... args) {
    return systemctl(true, args);
  }

  /** {@code systemctl [--user] ARGS}: the user's manager, or the system's. */
  static Programs.Outcome systemctl(boolean user, String... args) {
    List<String> cmd = new ArrayList<>(List.of("systemctl"));
    if (user) {
      cmd.add("--user");
    }
    cmd.addAll(List.of(args));
    return Programs.run(SYSTEMCTL_TIMEOUT, cmd);
  }
}
