package dev.keymux.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UserUnitsTest {
  @Test
  void execStartWordsSurviveSystemdsSpecifiersVariablesAndSpaces() {
    assertEquals("/usr/lib/jvm/java-17/bin/java", UserUnits.execArgument("/usr/lib/jvm/java-17/bin/java"));
    assertEquals("\"/home/a b/keymux.jar\"", UserUnits.execArgument("/home/a b/keymux.jar"));
    assertEquals("/opt/100%%/k$$x.jar", UserUnits.execArgument("/opt/100%/k$x.jar"));
    assertEquals("\"/opt/say \\\"hi\\\"/k.jar\"", UserUnits.execArgument("/opt/say \"hi\"/k.jar"));
    String service = UserUnits.serviceUnit(Path.of("/j/bin/java"), Path.of("/home/a b/keymux.jar"));
    assertTrue(service.startsWith(UserUnits.MARKER + "\n"), service);
    assertTrue(service.contains("\nExecStart=/j/bin/java -jar \"/home/a b/keymux.jar\" serve\n"), service);
  }

  @Test
  void unitsGoUnderXdgConfigHomeElseHomeDotConfig() {
    assertEquals(Path.of("/x/systemd/user"), UserUnits.unitDirectory(Map.of("XDG_CONFIG_HOME", "/x", "HOME", "/h")));
    assertEquals(Path.of("/h/.config/systemd/user"), UserUnits.unitDirectory(Map.of("HOME", "/h")));
  }
}
