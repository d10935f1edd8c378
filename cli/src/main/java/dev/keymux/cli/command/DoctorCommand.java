package dev.keymux.cli.command;

import dev.keymux.cli.Settings;
import dev.keymux.cli.doctor.Doctor;
import dev.keymux.cli.setup.ServiceAccount;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code keymux doctor}: who answers on SSH_AUTH_SOCK, whether keymux runs where it should, stray
 * agents, systemd units, sudo and container access, each with its fix (the checks: {@link Doctor}).
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
    description = "Check who owns SSH_AUTH_SOCK, stray agents, systemd units, sudo and container access, "
        + "and print the fix for each problem.")
final class DoctorCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "keymux configuration file.")
  Path config;

  @Option(names = "--container", paramLabel = "IMAGE",
      description = "Also run `ssh-add -l` in a container of IMAGE (local, no network) for every peer each scoped socket admits.")
  String containerImage;

  /** Where /etc/sudoers and /run/systemd/system are looked up: the tests' stand-in for a machine. */
  @Option(names = "--system-root", paramLabel = "DIR", hidden = true)
  Path systemRoot = Path.of("/");

  @Option(names = "--clean", description = "Remove stale agent sockets of yours (nothing answers) and their empty directories.")
  boolean clean;

  @Option(names = "--account", paramLabel = "NAME",
      description = "Check service account NAME's agent instead (keymux install --system); as that account or root.")
  String account;

  @Override
  public Integer call() {
    if (account != null) {
      return new Doctor(spec.commandLine().getOut(), systemRoot, null, false).runForAccount(new ServiceAccount(account, systemRoot));
    }
    Doctor doctor = new Doctor(spec.commandLine().getOut(), systemRoot, containerImage, clean);
    return doctor.run(Settings.load(config, Map.of()), System.getenv());
  }
}
