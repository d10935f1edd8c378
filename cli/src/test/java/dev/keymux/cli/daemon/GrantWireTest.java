package dev.keymux.cli.daemon;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.cli.UserError;
import dev.keymux.core.wire.ProtocolException;
import dev.keymux.core.wire.SshReader;
import dev.keymux.core.wire.SshWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The grant extensions' wire form: what the command sends is what the agent reads, and nothing else is. */
class GrantWireTest {
  @Test
  void aRequestReadsBackAsSent() throws Exception {
    Grant.Request sent = new Grant.Request(0, List.of("deploy-*", "SHA256:abc"), Duration.ofMinutes(10), true);
    assertEquals(sent, Grant.Request.decode(sent.encode()));
  }

  @Test
  void truncatedOrPaddedRequestsAreRejected() {
    byte[] ok = new Grant.Request(1000, List.of("a"), Duration.ofSeconds(5), false).encode();
    assertThrows(ProtocolException.class, () -> Grant.Request.decode(Arrays.copyOf(ok, ok.length - 1)));
    assertThrows(ProtocolException.class, () -> Grant.Request.decode(Arrays.copyOf(ok, ok.length + 1)));
    byte[] hugeList = new SshWriter().writeUint32(0).writeUint32(1_000_000).toByteArray();
    assertThrows(ProtocolException.class, () -> Grant.Request.decode(hugeList));
    byte[] badUid = new SshWriter().writeUint32(0xffffffffL).writeUint32(0).writeUint32(5).writeBoolean(false).toByteArray();
    assertThrows(ProtocolException.class, () -> Grant.Request.decode(badUid));
  }

  @Test
  void aGrantAndARefusalReadBack() throws Exception {
    Grant g = new Grant("3f9a01c2", 0, List.of("deploy-*"), Path.of("/tmp/keymux-grant-3f9a01c2/agent.sock"),
        Instant.ofEpochSecond(1_800_000_000L), false, List.of("SHA256:x deploy-web"));
    byte[] answer = Grant.ok(w -> {
      w.writeUint32(1);
      g.write(w);
    });
    assertEquals(List.of(g), Grant.readAll(Grant.opened(answer)));
    UserError e = assertThrows(UserError.class, () -> Grant.opened(Grant.refused("no key matches x")));
    assertEquals("no key matches x", e.getMessage());
  }

  @Test
  void aListClaimingMoreGrantsThanItHoldsIsRejected() {
    SshReader r = new SshReader(new SshWriter().writeUint32(2).toByteArray());
    assertThrows(ProtocolException.class, () -> Grant.readAll(r));
  }
}
