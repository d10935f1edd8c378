package dev.keymux.core.policy;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GlobTest {
  @ParameterizedTest
  @CsvSource({
    "*, anything, true",
    "*, '', true",
    "deploy-*, deploy-a, true",
    "deploy-*, xdeploy-a, false",
    "*.example.com, a.b.example.com, true",
    "*.example.com, example.com, false",
    "/usr/bin/*, /usr/bin/git, true",
    "*/git, /usr/lib/git-core/git, true",
    "ssh?, sshd, true",
    "ssh?, ssh, false",
    "a*b*c, abxbyc, true",
    "a*b*c, abxbyd, false",
    "*git-upload-pack*org/repo*, ssh -x git@github.com git-upload-pack 'org/repo', true",
  })
  void matchesLikeOpenSsh(String pattern, String text, boolean expected) {
    assertEquals(expected, Glob.matches(pattern, text, false));
  }

  @ParameterizedTest
  @CsvSource({"GitHub.COM, github.com", "*.EXAMPLE.com, a.example.COM"})
  void hostsIgnoreCase(String pattern, String text) {
    assertTrue(Glob.matches(pattern, text, true));
    assertFalse(Glob.matches(pattern, text + "x", true));
  }

  @org.junit.jupiter.api.Test
  void manyStarsDoNotBacktrackExponentially() {
    // A naive recursive matcher never finishes this; the linear one answers at once.
    assertFalse(Glob.matches("*a*a*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(5000), false));
  }
}
