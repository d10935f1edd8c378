package dev.keymux.core.server;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What keymux makes of LISTEN_* (the socket itself is adopted in the integration test under systemd-socket-activate). */
class SocketActivationTest {
  static final Map<String, String> ENV = Map.of("HOME", "/home/u", "LISTEN_PID", "4242", "LISTEN_FDS", "1",
      "LISTEN_FDNAMES", "keymux.socket");

  @Test
  void variablesMeantForAnotherProcessAreNotOursButStillNotPassedOn() throws IOException {
    SocketActivation a = SocketActivation.from(ENV, 7);
    assertTrue(a.socket().isEmpty(), "LISTEN_PID names another process: keymux binds its own socket");
    assertEquals(Map.of("HOME", "/home/u"), a.environment(), "programs keymux starts never see LISTEN_*");
  }

  @Test
  void noVariablesNoSocket() throws IOException {
    SocketActivation a = SocketActivation.from(Map.of("HOME", "/home/u"), 4242);
    assertTrue(a.socket().isEmpty());
    assertEquals(Map.of("HOME", "/home/u"), a.environment());
  }

  @Test
  void moreThanOneSocketForUsIsRefusedWithTheReason() {
    Map<String, String> two = new java.util.HashMap<>(ENV);
    two.put("LISTEN_FDS", "2");
    IOException e = assertThrows(IOException.class, () -> SocketActivation.from(two, 4242));
    assertTrue(e.getMessage().contains("LISTEN_FDS=2") && e.getMessage().contains("exactly one"), e.getMessage());
  }
}
