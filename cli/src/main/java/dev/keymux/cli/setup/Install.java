package dev.keymux.cli.setup;

import dev.keymux.cli.Programs;
import dev.keymux.cli.UserError;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;

/**
 * What {@code keymux install} does: the systemd user units (systemd holds the socket and starts
 * keymux on the first connection) with the JVM options and start-up archive for the best Java
 * here, a starter configuration when there is none, and the line for the shell profile.
 */
public final class Install {
  /** The starter configuration: nothing but comments in a valid file, so defaults stay in reference.conf. */
  public static final String STARTER_CONFIG = """
      # keymux configuration, written by `keymux install` because there was none.
      # Every setting, its meaning and its default is in keymux's reference.conf; this file
      # overrides only what it names. After editing, check it with: keymux policy check
      # (keymux re-reads it on change or on `systemctl --user reload keymux`).
      keymux {
        # Key files offered besides keys added with ssh-add (default: ~/.ssh/id_*):
        # backends.files.paths = ["~/.ssh/id_ed25519"]

        # Ask before each signature with keys whose comment starts with work-:
        # rules = [
        #   { name = work, match { comment = "work-*" }, action = confirm, remember = 10m }
        # ]

        # Under systemd, exit after this long without a client (0 = never):
        # idle-exit = 30m
      }
      """;

  private Install() {}

  /**
   * Installs for the user of {@code env}; {@code printOnly} prints the units and changes nothing,
   * {@code enable} runs systemctl, {@code archive} makes the start-up archive and copies
   * junixsocket's library. The exit status: 1 when the socket could not be enabled.
   */
  public static int run(PrintWriter out, PrintWriter err, Map<String, String> env, Shell sh, boolean printOnly,
      boolean enable, boolean archive) throws IOException {
    Path units = UserUnits.unitDirectory(env);
    Path socketUnit = units.resolve(UserUnits.SOCKET);
    Path serviceUnit = units.resolve(UserUnits.SERVICE);
    String socketText = UserUnits.socketUnit();
    DaemonJvm.Java java = UserUnits.java(env);
    Path jar = UserUnits.runningJar();
    Path archiveFile = DaemonJvm.archive(jar, java, env);
    if (printOnly) {
      String serviceText = archive
          ? UserUnits.serviceUnit(java, jar, Optional.of(archiveFile), Optional.of(DaemonJvm.nativeLibrary(archiveFile)))
          : UserUnits.serviceUnit(java, jar, Optional.empty(), Optional.empty());
      out.println("# " + socketUnit);
      out.print(socketText);
      out.println();
      out.println("# " + serviceUnit);
      out.print(serviceText);
      out.flush();
      return 0;
    }
    for (Path unit : new Path[] {socketUnit, serviceUnit}) {
      if (Files.exists(unit) && !UserUnits.ours(unit)) {
        throw new UserError(unit + " exists and was not written by keymux install; move it away first");
      }
    }
    Optional<Path> made = Optional.empty();
    Optional<Path> library = Optional.empty();
    if (archive) {
      Path copy = DaemonJvm.nativeLibrary(archiveFile);
      Optional<String> notCopied = DaemonJvm.copyNativeLibrary(jar, copy);
      if (notCopied.isEmpty()) {
        library = Optional.of(copy);
      } else {
        err.println("keymux: " + notCopied.get() + "; junixsocket copies it out at each start instead");
      }
      Optional<String> problem = DaemonJvm.train(java, jar, archiveFile);
      if (problem.isEmpty()) {
        made = Optional.of(archiveFile);
        out.println("made the start-up archive " + archiveFile + " (Java " + java.feature() + ")");
      } else {
        err.println("keymux: no start-up archive (" + problem.get() + "); keymux starts without one, only slower");
      }
    }
    String serviceText = UserUnits.serviceUnit(java, jar, made, library);
    Files.createDirectories(units);
    Files.writeString(socketUnit, socketText);
    Files.writeString(serviceUnit, serviceText);
    out.println("wrote " + socketUnit);
    out.println("wrote " + serviceUnit);

    Path config = UserUnits.configHome(env).resolve("keymux").resolve("keymux.conf");
    if (Files.exists(config)) {
      out.println("kept the existing configuration " + config);
    } else {
      Files.createDirectories(config.getParent());
      Files.writeString(config, STARTER_CONFIG);
      Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
      out.println("wrote a starter configuration " + config);
    }

    int status = 0;
    if (!enable) {
      out.println("not enabled (--no-enable); to start it: systemctl --user daemon-reload && "
          + "systemctl --user enable --now " + UserUnits.SOCKET);
    } else {
      Programs.Outcome reload = UserUnits.systemctl("daemon-reload");
      Programs.Outcome enabled = reload.ok() ? UserUnits.systemctl("enable", "--now", UserUnits.SOCKET) : reload;
      if (enabled.ok()) {
        out.println("enabled and started " + UserUnits.SOCKET + " (keymux starts on the first connection)");
      } else {
        err.println("keymux: could not enable " + UserUnits.SOCKET + ": " + enabled.firstLine());
        err.println("  no systemd user session here? (common in containers, CI and su/sudo shells)");
        err.println("  the files are written; in a login session run: systemctl --user daemon-reload && "
            + "systemctl --user enable --now " + UserUnits.SOCKET);
        err.println("  or run keymux without systemd: keymux serve");
        status = 1;
      }
    }
    out.println();
    out.println("Add this line to your shell profile (" + sh.profiles() + "):");
    out.println(sh.defaultSocketLine());
    return status;
  }
}
