package dev.keymux.cli.setup;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.cli.Programs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonJvmTest {
  @TempDir Path dir;

  @Test
  void optionsForAVersionSkipCommentsAndLaterJavasLines() {
    String text = "# comment\n-XX:+UseSerialGC\n\n  -Xmx128m  \n24+ --enable-native-access=ALL-UNNAMED\n";
    assertEquals(List.of("-XX:+UseSerialGC", "-Xmx128m"), DaemonJvm.options(text, 17));
    assertEquals(List.of("-XX:+UseSerialGC", "-Xmx128m", "--enable-native-access=ALL-UNNAMED"), DaemonJvm.options(text, 25));
  }

  @Test
  void theShippedOptionsStartARealJvm() throws Exception {
    int feature = Runtime.version().feature();
    List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(DaemonJvm.options(feature));
    cmd.add("-version");
    Programs.Outcome r = Programs.run(java.time.Duration.ofSeconds(60), cmd);
    assertEquals(0, r.exitCode(), r.output());
    assertTrue(r.output().contains("version \"" + feature), r.output());
  }

  /** A fake installation: a release file and an executable bin/java (never run). */
  private Path jdk(String name, String version) throws Exception {
    Path home = Files.createDirectories(dir.resolve("jvm").resolve(name));
    Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"" + version + "\"\n");
    Path bin = Files.createDirectories(home.resolve("bin")).resolve("java");
    Files.writeString(bin, "#!/bin/sh\n");
    Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
    return home;
  }

  @Test
  void bestIsTheNewestJavaOf17OrLaterAndKeymuxJavaWins() throws Exception {
    Path running = jdk("java-17", "17.0.15");
    jdk("java-11", "11.0.2");
    Path j25 = jdk("temurin-25", "25.0.3");
    jdk("broken", "");
    DaemonJvm.Java best = DaemonJvm.best(Map.of(), running, dir.resolve("jvm"));
    assertEquals(new DaemonJvm.Java(j25.resolve("bin/java"), 25), best);
    assertEquals("keymux.jar.java25.aot", best.archiveName());
    assertEquals(List.of("-XX:AOTCacheOutput=/a"), best.makeArchive(Path.of("/a")));

    DaemonJvm.Java chosen = DaemonJvm.best(Map.of("KEYMUX_JAVA", running.resolve("bin/java").toString()), running,
        dir.resolve("jvm"));
    assertEquals(17, chosen.feature());
    assertEquals("keymux.jar.java17.jsa", chosen.archiveName());
    assertEquals(List.of("-XX:SharedArchiveFile=/a"), chosen.useArchive(Path.of("/a")));
  }

  @Test
  void theArchiveLivesBesideAWritableJarElseInTheCache() throws Exception {
    DaemonJvm.Java j = new DaemonJvm.Java(Path.of("/j/bin/java"), 17);
    Path jar = Files.writeString(dir.resolve("keymux.jar"), "");
    assertEquals(dir.resolve("keymux.jar.java17.jsa"), DaemonJvm.archive(jar, j, Map.of()));
    assertEquals(Path.of("/c/keymux/keymux.jar.java17.jsa"),
        DaemonJvm.archive(Path.of("/nonexistent/keymux.jar"), j, Map.of("XDG_CACHE_HOME", "/c")));
    assertEquals(Path.of("/h/.cache/keymux/keymux.jar.java17.jsa"),
        DaemonJvm.archive(Path.of("/nonexistent/keymux.jar"), j, Map.of("HOME", "/h")));
  }

  @Test
  void junixsocketsLibraryForThisMachineIsCopiedOutOfTheJar() throws Exception {
    String arch = System.getProperty("os.arch");
    Path jar = dir.resolve("keymux.jar");
    try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(jar))) {
      for (String[] entry : new String[][] {
          {"lib/" + arch + "-Linux-gpp/jni/libjunixsocket-native-2.10.1.so", "gpp build"},
          {"lib/" + arch + "-Linux-clang/jni/libjunixsocket-native-2.10.1.nodeps.so", "nodeps build"},
          {"lib/" + arch + "-Linux-clang/jni/libjunixsocket-native-2.10.1.so", "clang build"},
          {"lib/" + arch + "-MacOSX-clang/jni/libjunixsocket-native-2.10.1.dylib", "mac build"}}) {
        zip.putNextEntry(new java.util.zip.ZipEntry(entry[0]));
        zip.write(entry[1].getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        zip.closeEntry();
      }
    }
    Path copy = dir.resolve(DaemonJvm.NATIVE_LIBRARY);
    assertEquals(java.util.Optional.empty(), DaemonJvm.copyNativeLibrary(jar, copy));
    assertEquals("clang build", Files.readString(copy));
    assertEquals(List.of("-Dorg.newsclub.net.unix.library.override=" + copy), DaemonJvm.useNativeLibrary(copy));
    try (var files = Files.list(dir)) {
      assertEquals(2, files.count(), "no partial copy left behind");
    }

    Path empty = dir.resolve("empty.jar");
    try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(empty))) {
      zip.putNextEntry(new java.util.zip.ZipEntry("META-INF/MANIFEST.MF"));
      zip.closeEntry();
    }
    assertTrue(DaemonJvm.copyNativeLibrary(empty, dir.resolve("x.so")).orElseThrow().contains("no junixsocket library for " + arch));
    assertFalse(Files.exists(dir.resolve("x.so")));
  }
}
