package dev.keymux.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SshTimeTest {
  @ParameterizedTest
  @CsvSource({"90,90", "90s,90", "10m,600", "1h30m,5400", "2d,172800", "1w,604800", "1H,3600", "0,0"})
  void parsesOpenSshTimeFormat(String text, long seconds) {
    assertEquals(Duration.ofSeconds(seconds), SshTime.parse(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "h", "10x", "1.5h", "-5", "99999999999999w"})
  void rejectsAnythingElse(String text) {
    assertThrows(IllegalArgumentException.class, () -> SshTime.parse(text));
  }

  @org.junit.jupiter.api.Test
  void formatWritesWhatParseReads() {
    for (String t : java.util.List.of("6s", "10m", "1m30s", "8h", "1d2h", "1h0m5s")) {
      java.time.Duration d = SshTime.parse(t);
      org.junit.jupiter.api.Assertions.assertEquals(d, SshTime.parse(SshTime.format(d)), t);
    }
    org.junit.jupiter.api.Assertions.assertEquals("1h5s", SshTime.format(java.time.Duration.ofSeconds(3605)));
    org.junit.jupiter.api.Assertions.assertEquals("0", SshTime.format(java.time.Duration.ZERO));
  }
}
