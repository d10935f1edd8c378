package dev.keymux.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The cli's rooms depend one way (docs/architecture.md, "The cli's packages"): only {@code command}
 * knows picocli and the commands; the daemon, doctor, setup and the shared root never import them.
 */
class LayoutTest {
  private static final Path SOURCES = Path.of("src/main/java/dev/keymux/cli");

  @Test
  void onlyTheCommandPackageImportsPicocliOrACommand() throws IOException {
    assertTrue(Files.isDirectory(SOURCES.resolve("command")), "run from the cli module: " + SOURCES.toAbsolutePath());
    List<String> wrong = new ArrayList<>();
    int read = 0;
    try (Stream<Path> files = Files.walk(SOURCES)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        if (f.startsWith(SOURCES.resolve("command"))) {
          continue;
        }
        read++;
        for (String line : Files.readAllLines(f)) {
          if (line.startsWith("import picocli.") || line.startsWith("import dev.keymux.cli.command.")) {
            wrong.add(SOURCES.relativize(f) + ": " + line);
          }
        }
      }
    }
    assertTrue(read >= 15, "read only " + read + " files outside command");
    assertEquals(List.of(), wrong);
  }
}
