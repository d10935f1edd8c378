package dev.keymux.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.newsclub.net.unix.AFUNIXSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/** Waiting for agents started by tests. */
public final class Sockets {
  private Sockets() {}

  /**
   * Whether something accepts connections on {@code socket}. The file appears at bind(), a moment
   * before listen(): a test that waits only for the file can meet "Connection refused".
   */
  public static boolean accepts(Path socket) {
    if (!Files.exists(socket)) {
      return false;
    }
    try (AFUNIXSocket s = AFUNIXSocket.connectTo(AFUNIXSocketAddress.of(socket.toFile()))) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
