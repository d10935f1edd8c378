package dev.keymux.cli.setup;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UserUnitsTest {
  @Test
  void execStartWordsSurviveSystemdsSpecifiersVariablesAndSpaces() {
    assertEquals("/usr/lib/jvm/java-17/bin/java", UserUnits.execArgument("/usr/lib/jvm/java-17/bin/java"));
    assertEquals("\"/home/a b/keymux.jar\"", UserUnits.execArgument("/home/a b/keymux.jar"));
    assertEquals("/opt/100%%/k$$x.jar", UserUnits.execArgument("/opt/100%/k$x.jar"));
    assertEquals("\"/opt/say \\\"hi\\\"/k.jar\"", UserUnits.execArgument("/opt/say \"hi\"/k.jar"));
    String service = UserUnits.serviceUnit(new DaemonJvm.Java(Path.of("/j/bin/java"), 17), Path.of("/home/a b/keymux.jar"),
        Optional.of(Path.of("/home/a b/keymux.jar.java17.jsa")), Optional.of(Path.of("/home/a b/keymux.jar.junixsocket.so")));
    assertTrue(service.startsWith(UserUnits.MARKER + "\n"), service);
    List<String> words = execStart(service);
    assertEquals("/j/bin/java", words.get(0), service);
    assertEquals(DaemonJvm.options(17), words.subList(1, words.size() - 5), service);
    assertEquals(List.of("-XX:SharedArchiveFile=/home/a b/keymux.jar.java17.jsa",
        "-Dorg.newsclub.net.unix.library.override=/home/a b/keymux.jar.junixsocket.so", "-jar", "/home/a b/keymux.jar", "serve"),
        words.subList(words.size() - 5, words.size()), service);
    assertTrue(service.contains(" \"-XX:SharedArchiveFile=/home/a b/keymux.jar.java17.jsa\" "), service);
    assertTrue(service.contains(" -jar \"/home/a b/keymux.jar\" serve\n"), service);
  }

  @Test
  void onJava25TheUnitUsesTheAotCacheAndTheOptionsForNativeAccess() {
    String service = UserUnits.serviceUnit(new DaemonJvm.Java(Path.of("/j25/bin/java"), 25), Path.of("/k/keymux.jar"),
        Optional.of(Path.of("/k/keymux.jar.java25.aot")), Optional.empty());
    List<String> words = execStart(service);
    assertTrue(words.contains("-XX:AOTCache=/k/keymux.jar.java25.aot"), service);
    assertTrue(words.contains("--enable-native-access=ALL-UNNAMED"), service);
    assertFalse(execStart(UserUnits.serviceUnit(new DaemonJvm.Java(Path.of("/j/bin/java"), 17), Path.of("/k/keymux.jar"),
        Optional.empty(), Optional.empty())).contains("--enable-native-access=ALL-UNNAMED"), "Java 17 would refuse an option it does not know");
  }

  @Test
  void unitsGoUnderXdgConfigHomeElseHomeDotConfig() {
    assertEquals(Path.of("/x/systemd/user"), UserUnits.unitDirectory(Map.of("XDG_CONFIG_HOME", "/x", "HOME", "/h")));
    assertEquals(Path.of("/h/.config/systemd/user"), UserUnits.unitDirectory(Map.of("HOME", "/h")));
  }

  /** The words of a unit's ExecStart= line, unquoted (for what {@link UserUnits#serviceUnit} writes). */
  static List<String> execStart(String unit) {
    String line = unit.lines().filter(l -> l.startsWith("ExecStart=")).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no ExecStart= line"));
    List<String> words = new ArrayList<>();
    StringBuilder w = new StringBuilder();
    boolean quoted = false;
    boolean any = false;
    String rest = line.substring("ExecStart=".length());
    for (int i = 0; i < rest.length(); i++) {
      char c = rest.charAt(i);
      if (quoted && c == '\\' && i + 1 < rest.length()) {
        w.append(rest.charAt(++i));
      } else if (c == '"') {
        quoted = !quoted;
        any = true;
      } else if (c == ' ' && !quoted) {
        if (any || w.length() > 0) {
          words.add(w.toString());
        }
        w.setLength(0);
        any = false;
      } else {
        w.append(c);
      }
    }
    if (any || w.length() > 0) {
      words.add(w.toString());
    }
    return words.stream().map(x -> x.replace("%%", "%").replace("$$", "$")).toList();
  }
}
