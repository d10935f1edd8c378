package dev.keymux.cli.setup;

import dev.keymux.cli.Programs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * How the keymux daemon's JVM starts: which Java (the newest installed, at least 17), with which
 * options ({@code jvm.options}, the file {@code ./keymux} reads too), and with which class-data
 * archive (the AOT cache of JEP 483 on Java 25 and later, a dynamic CDS archive before that),
 * made by a training run ({@code keymux train-startup}).
 */
public final class DaemonJvm {
  /** The oldest Java keymux runs on. */
  static final int MIN_FEATURE = 17;
  /** The first Java whose AOT cache ({@code -XX:AOTCacheOutput}, JEP 514) keymux uses. */
  static final int AOT_CACHE_FEATURE = 25;
  /** How long a training run may take before it counts as failed. */
  private static final Duration TRAINING_TIMEOUT = Duration.ofMinutes(2);
  private static final Pattern VERSION = Pattern.compile("^JAVA_VERSION=\"(\\d+)[^\"]*\"", Pattern.MULTILINE);
  private static final Pattern FOR_VERSION = Pattern.compile("^(\\d+)\\+\\s+(\\S.*)$");
  /** The file, beside the archive, that holds junixsocket's native library for this machine. */
  static final String NATIVE_LIBRARY = "keymux.jar.junixsocket.so";
  /** junixsocket loads its library from here when the file is there, else as it always does. */
  private static final String NATIVE_LIBRARY_PROPERTY = "org.newsclub.net.unix.library.override";

  /** A Java installation: its {@code bin/java} and feature version (17, 21, 25, ...). */
  public record Java(Path binary, int feature) {
    /** The archive's file name for this Java: one archive per jar and Java version. */
    String archiveName() {
      return "keymux.jar.java" + feature + (feature >= AOT_CACHE_FEATURE ? ".aot" : ".jsa");
    }

    /** The options that use {@code archive}. */
    List<String> useArchive(Path archive) {
      return List.of((feature >= AOT_CACHE_FEATURE ? "-XX:AOTCache=" : "-XX:SharedArchiveFile=") + archive);
    }

    /** The options that make {@code archive} when the JVM exits. */
    List<String> makeArchive(Path archive) {
      return List.of((feature >= AOT_CACHE_FEATURE ? "-XX:AOTCacheOutput=" : "-XX:ArchiveClassesAtExit=") + archive);
    }
  }

  private DaemonJvm() {}

  /** The options of jvm.options that apply to Java {@code feature}, in order. */
  static List<String> options(int feature) {
    try (InputStream in = DaemonJvm.class.getResourceAsStream("jvm.options")) {
      if (in == null) {
        throw new IllegalStateException("jvm.options is missing from keymux's jar");
      }
      return options(new String(in.readAllBytes(), StandardCharsets.UTF_8), feature);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read jvm.options: " + e.getMessage(), e);
    }
  }

  static List<String> options(String text, int feature) {
    List<String> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      Matcher m = FOR_VERSION.matcher(l);
      if (m.matches()) {
        if (feature >= Integer.parseInt(m.group(1))) {
          out.add(m.group(2));
        }
      } else {
        out.add(l);
      }
    }
    return out;
  }

  /** The feature version of the Java installed at {@code home}, from its {@code release} file. */
  static Optional<Integer> feature(Path home) {
    try {
      Matcher m = VERSION.matcher(Files.readString(home.resolve("release")));
      return m.find() ? Optional.of(Integer.parseInt(m.group(1))) : Optional.empty();
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * The best Java here: the newest of the one running keymux, $JAVA_HOME's and those under
   * {@code jvmRoot} (/usr/lib/jvm), at least {@link #MIN_FEATURE}. $KEYMUX_JAVA, when set, is
   * taken as it is.
   */
  static Java best(Map<String, String> env, Path running, Path jvmRoot) {
    String chosen = env.getOrDefault("KEYMUX_JAVA", "");
    if (!chosen.isEmpty()) {
      Path bin = Path.of(chosen).toAbsolutePath();
      return new Java(bin, feature(home(bin)).orElse(Runtime.version().feature()));
    }
    Set<Path> homes = new LinkedHashSet<>();
    homes.add(running);
    String javaHome = env.getOrDefault("JAVA_HOME", "");
    if (!javaHome.isEmpty()) {
      homes.add(Path.of(javaHome));
    }
    if (Files.isDirectory(jvmRoot)) {
      try (DirectoryStream<Path> dirs = Files.newDirectoryStream(jvmRoot)) {
        dirs.forEach(homes::add);
      } catch (IOException e) {
        // only the running Java and $JAVA_HOME then
      }
    }
    Java best = new Java(running.resolve("bin").resolve("java"), Runtime.version().feature());
    for (Path home : homes) {
      Path bin = home.resolve("bin").resolve("java");
      Optional<Integer> f = feature(home);
      if (f.isPresent() && f.get() >= MIN_FEATURE && Files.isExecutable(bin) && f.get() > best.feature()) {
        best = new Java(bin, f.get());
      }
    }
    return best;
  }

  private static Path home(Path javaBinary) {
    try {
      return javaBinary.toRealPath().getParent().getParent();
    } catch (IOException | NullPointerException e) {
      return javaBinary.getParent() == null ? javaBinary : javaBinary.getParent().getParent();
    }
  }

  /**
   * Where the archive for {@code jar} on {@code java} lives: beside the jar when that directory
   * is writable (so a rebuild's {@code ./keymux} renews the one the unit uses), else in
   * $XDG_CACHE_HOME/keymux.
   */
  public static Path archive(Path jar, Java java, Map<String, String> env) {
    Path dir = jar.getParent();
    if (dir == null || !Files.isWritable(dir)) {
      String cache = env.getOrDefault("XDG_CACHE_HOME", "");
      dir = (!cache.isEmpty() ? Path.of(cache) : Path.of(env.getOrDefault("HOME", System.getProperty("user.home")), ".cache"))
          .resolve("keymux");
    }
    return dir.resolve(java.archiveName());
  }

  /** Where the copy of junixsocket's native library made with {@code archive} lives. */
  public static Path nativeLibrary(Path archive) {
    return archive.resolveSibling(NATIVE_LIBRARY);
  }

  /** The option that has junixsocket load {@code library} instead of copying its own out of the jar. */
  static List<String> useNativeLibrary(Path library) {
    return List.of("-D" + NATIVE_LIBRARY_PROPERTY + "=" + library);
  }

  /**
   * Copies junixsocket's native library for this machine out of {@code jar} to {@code target}:
   * junixsocket otherwise writes it to a temporary file and loads it from there at every start,
   * which was a tenth of keymux's time to its first answer. Returns the problem when there is one.
   */
  public static Optional<String> copyNativeLibrary(Path jar, Path target) {
    String arch = System.getProperty("os.arch");
    Pattern name = Pattern.compile("lib/" + Pattern.quote(arch) + "-Linux-(clang|gpp)/jni/libjunixsocket-native-[0-9.]+\\.so");
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      Optional<? extends ZipEntry> entry = zip.stream().filter(e -> name.matcher(e.getName()).matches())
          .min(Comparator.comparing(ZipEntry::getName)); // clang's build before gpp's
      if (entry.isEmpty()) {
        return Optional.of("no junixsocket library for " + arch + " Linux in " + jar);
      }
      Path partial = target.resolveSibling(target.getFileName() + "." + ProcessHandle.current().pid() + ".partial");
      try (InputStream in = zip.getInputStream(entry.get())) {
        Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
      }
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of("cannot copy junixsocket's library to " + target + ": " + e.getMessage());
    }
  }

  /**
   * Makes {@code archive} with a training run in a scratch directory (nothing of the user's is
   * read): the new archive replaces the old one only once it is complete. Returns the problem
   * when there is one; the daemon then simply starts without an archive.
   */
  public static Optional<String> train(Java java, Path jar, Path archive) {
    Path scratch = null;
    try {
      Files.createDirectories(archive.getParent());
      scratch = Files.createTempDirectory("keymux-train.");
      // Unique, so two installs at once cannot mix their halves; renamed into place when whole.
      Path partial = archive.resolveSibling(archive.getFileName() + "." + ProcessHandle.current().pid() + ".partial");
      Files.deleteIfExists(partial);
      List<String> cmd = new ArrayList<>();
      cmd.add(java.binary().toString());
      cmd.addAll(options(java.feature()));
      cmd.addAll(java.makeArchive(partial));
      cmd.addAll(List.of("-jar", jar.toString(), "train-startup", scratch.toString()));
      Map<String, String> env = Map.of(
          "PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"),
          "HOME", scratch.toString(),
          "XDG_RUNTIME_DIR", scratch.toString(),
          "XDG_CONFIG_HOME", scratch.resolve(".config").toString(),
          "XDG_CACHE_HOME", scratch.resolve(".cache").toString());
      Programs.Outcome run = Programs.run(TRAINING_TIMEOUT, cmd, env);
      if (!run.ok() || !Files.isRegularFile(partial)) {
        return Optional.of("the training run failed: " + run.firstLine());
      }
      Files.move(partial, archive, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of(e.getMessage());
    } finally {
      if (scratch != null) {
        deleteTree(scratch);
      }
    }
  }

  private static void deleteTree(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a scratch directory in /tmp; the system cleans it
    }
  }
}
