package dev.keymux.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that need a real component (sshd, Docker, ...) call {@link #require}. A user without
 * the component gets a skipped test; CI sets {@code -Dkeymux.require=docker,sshd} and then a
 * missing component fails the build, so CI can never pass by skipping.
 */
public final class RealComponents {
  private RealComponents() {}

  public static void require(String component, boolean available, String why) {
    if (available) {
      return;
    }
    String required = System.getProperty("keymux.require", "");
    boolean mustRun = Arrays.stream(required.split(",")).map(String::trim).anyMatch(component::equals);
    if (mustRun) {
      Assertions.fail("required real component '" + component + "' unavailable: " + why);
    }
    Assumptions.abort("real component '" + component + "' unavailable: " + why);
  }

  public static boolean commandExists(String absolutePath) {
    return Files.isExecutable(Path.of(absolutePath));
  }
}
