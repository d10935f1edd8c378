package dev.keymux.core.agent;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which libraries ssh-add -s may load: patterns matched against the real path (CVE-2023-38408). */
class ProviderAllowlistTest {
  @TempDir Path dir;

  private Path file(String relative) throws Exception {
    Path p = dir.resolve(relative);
    Files.createDirectories(p.getParent());
    return Files.writeString(p, "not really a library");
  }

  private static String refusal(ProviderAllowlist allowlist, Path library) {
    return assertThrows(AgentException.class, () -> allowlist.check(library.toString())).getMessage();
  }

  @Test
  void aLibraryMatchingAPatternIsAllowedByItsRealPath() throws Exception {
    Path lib = file("allowed/lib/opensc-pkcs11.so");
    ProviderAllowlist allowlist = new ProviderAllowlist(List.of(dir.toRealPath() + "/allowed/*"));
    assertEquals(lib.toRealPath(), allowlist.check(lib.toString()));
    // * matches across /, as in OpenSSH's ssh-agent -P.
    assertEquals(lib.toRealPath(), allowlist.check(dir.resolve("allowed/lib/../lib/opensc-pkcs11.so").toString()));
  }

  @Test
  void aSymlinkInsideTheAllowlistPointingOutsideIsRefused() throws Exception {
    Path outside = file("outside/evil.so");
    Files.createDirectories(dir.resolve("allowed"));
    Path link = Files.createSymbolicLink(dir.resolve("allowed/innocent.so"), outside);
    ProviderAllowlist allowlist = new ProviderAllowlist(List.of(dir.toRealPath() + "/allowed/*"));
    String why = refusal(allowlist, link);
    assertTrue(why.contains(outside.toRealPath().toString()) && why.contains("not in the allowlist"), why);
  }

  @Test
  void aSymlinkOutsidePointingIntoTheAllowlistIsAllowedAsItsTarget() throws Exception {
    Path inside = file("allowed/good.so");
    Path link = Files.createSymbolicLink(dir.resolve("elsewhere.so"), inside);
    ProviderAllowlist allowlist = new ProviderAllowlist(List.of(dir.toRealPath() + "/allowed/*"));
    assertEquals(inside.toRealPath(), allowlist.check(link.toString()));
  }

  @Test
  void dotDotOutOfTheAllowedDirectoryIsRefused() throws Exception {
    Path outside = file("outside/evil.so");
    Files.createDirectories(dir.resolve("allowed"));
    ProviderAllowlist allowlist = new ProviderAllowlist(List.of(dir.toRealPath() + "/allowed/*"));
    String why = refusal(allowlist, dir.resolve("allowed/../outside/evil.so"));
    assertTrue(why.contains(outside.toRealPath().toString()), why);
  }

  @Test
  void commaSeparatedPatternsAndTheQuestionMarkWildcard() throws Exception {
    Path a = file("a/lib1.so");
    Path b = file("b/lib2.so");
    Path c = file("b/lib22.so");
    ProviderAllowlist allowlist = new ProviderAllowlist(List.of(dir.toRealPath() + "/a/*," + dir.toRealPath() + "/b/lib?.so"));
    assertEquals(a.toRealPath(), allowlist.check(a.toString()));
    assertEquals(b.toRealPath(), allowlist.check(b.toString()));
    refusal(allowlist, c);
  }

  @Test
  void aMissingLibraryAndAnEmptyAllowlistAreRefused() throws Exception {
    Path lib = file("allowed/lib.so");
    String why = refusal(new ProviderAllowlist(List.of(dir.toRealPath() + "/allowed/*")), dir.resolve("allowed/missing.so"));
    assertTrue(why.contains("does not exist"), why);
    refusal(new ProviderAllowlist(List.of()), lib);
    refusal(new ProviderAllowlist(List.of(" , ")), lib);
  }

  @Test
  void patternCharactersOtherThanWildcardsAreLiteral() throws Exception {
    Path lib = file("x.y/lib.so");
    Path lookalike = file("xzy/lib.so");
    ProviderAllowlist allowlist = new ProviderAllowlist(List.of(dir.toRealPath() + "/x.y/*"));
    assertEquals(lib.toRealPath(), allowlist.check(lib.toString()));
    refusal(allowlist, lookalike);
  }
}
