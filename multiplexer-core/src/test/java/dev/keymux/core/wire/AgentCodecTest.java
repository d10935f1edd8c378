package dev.keymux.core.wire;

import static org.junit.jupiter.api.Assertions.*;

import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.KeyBlob;
import dev.keymux.core.wire.AgentRequest.*;
import dev.keymux.core.wire.AgentResponse.*;
import dev.keymux.core.wire.KeyConstraint.*;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AgentCodecTest {
  static final KeyBlob KEY = new KeyBlob(new SshWriter().writeString("ssh-ed25519").writeString(new byte[32]).toByteArray());
  static final KeyBlob HOST = new KeyBlob(new SshWriter().writeString("ssh-ed25519").writeString(new byte[] {1, 2, 3}).toByteArray());

  static byte[] ed25519Material() {
    return new SshWriter().writeString("ssh-ed25519").writeString(new byte[32]).writeString(new byte[64]).toByteArray();
  }

  static byte[] rsaMaterial() {
    SshWriter w = new SshWriter().writeString("ssh-rsa");
    for (int i = 1; i <= 6; i++) {
      w.writeMpint(java.math.BigInteger.valueOf(1000 + i));
    }
    return w.toByteArray();
  }

  static byte[] ecdsaCertMaterial() {
    return new SshWriter().writeString("ecdsa-sha2-nistp256-cert-v01@openssh.com").writeString(new byte[100])
        .writeMpint(java.math.BigInteger.TEN).toByteArray();
  }

  static Stream<AgentRequest> requests() {
    Hop from = new Hop("", "", List.of());
    Hop to = new Hop("", "host.example", List.of(new HostKey(HOST, false), new HostKey(KEY, true)));
    return Stream.of(
        new RequestIdentities(),
        new SignRequest(KEY, "data".getBytes(StandardCharsets.UTF_8), AgentProtocol.SSH_AGENT_RSA_SHA2_512),
        new AddIdentity("ssh-ed25519", ed25519Material(), "me@host", List.of()),
        new AddIdentity("ssh-rsa", rsaMaterial(), "rsa key", List.of(new Lifetime(3600), new Confirm())),
        new AddIdentity("ecdsa-sha2-nistp256-cert-v01@openssh.com", ecdsaCertMaterial(), "cert", List.of(new MaxSignatures(5))),
        new AddIdentity("ssh-ed25519", ed25519Material(), "restricted",
            List.of(new RestrictDestination(List.of(new DestinationConstraint(from, to))))),
        new AddIdentity("ssh-ed25519", ed25519Material(), "sk", List.of(new SkProvider("/usr/lib/libsk.so"))),
        new RemoveIdentity(KEY),
        new RemoveAllIdentities(),
        new AddSmartcardKey("/usr/lib/softhsm/libsofthsm2.so", "1234".getBytes(StandardCharsets.UTF_8), List.of()),
        new AddSmartcardKey("/usr/lib/p11.so", new byte[0], List.of(new Lifetime(60), new AssociatedCerts(true, List.of(KEY)))),
        new RemoveSmartcardKey("/usr/lib/p11.so", new byte[0]),
        new Lock("secret".getBytes(StandardCharsets.UTF_8)),
        new Unlock("secret".getBytes(StandardCharsets.UTF_8)),
        new Extension("query", new byte[0]),
        new Extension("session-bind@openssh.com", new byte[] {0, 0, 0, 1, 9}));
  }

  @ParameterizedTest
  @MethodSource("requests")
  void everyRequestRoundTrips(AgentRequest request) throws Exception {
    byte[] encoded = AgentCodec.encodeRequest(request);
    assertEquals(request, AgentCodec.decodeRequest(encoded));
  }

  static Stream<AgentResponse> responses() {
    return Stream.of(
        AgentResponse.FAILURE,
        AgentResponse.SUCCESS,
        new IdentitiesAnswer(List.of()),
        new IdentitiesAnswer(List.of(new Identity(KEY, "one", ""), new Identity(HOST, "two ünïcode", ""))),
        new SignResponse(new byte[] {1, 2, 3}),
        AgentResponse.EXTENSION_FAILURE,
        new ExtensionResponse("query", new SshWriter().writeString("query").toByteArray()));
  }

  @ParameterizedTest
  @MethodSource("responses")
  void everyResponseRoundTrips(AgentResponse response) throws Exception {
    assertEquals(response, AgentCodec.decodeResponse(AgentCodec.encodeResponse(response)));
  }

  @Test
  void messageNumbersMatchTheSpec() throws Exception {
    assertEquals(11, AgentCodec.encodeRequest(new RequestIdentities())[0]);
    assertEquals(17, AgentCodec.encodeRequest(new AddIdentity("ssh-ed25519", ed25519Material(), "", List.of()))[0]);
    assertEquals(25, AgentCodec.encodeRequest(new AddIdentity("ssh-ed25519", ed25519Material(), "", List.of(new Confirm())))[0]);
    assertEquals(20, AgentCodec.encodeRequest(new AddSmartcardKey("p", new byte[0], List.of()))[0]);
    assertEquals(26, AgentCodec.encodeRequest(new AddSmartcardKey("p", new byte[0], List.of(new Confirm())))[0]);
    assertEquals(5, AgentCodec.encodeResponse(AgentResponse.FAILURE)[0]);
    assertEquals(28, AgentCodec.encodeResponse(AgentResponse.EXTENSION_FAILURE)[0]);
    assertEquals(29, AgentCodec.encodeResponse(new ExtensionResponse("x", new byte[0]))[0]);
  }

  /** Truncating any valid request at any byte must give a ProtocolException, nothing else. */
  @ParameterizedTest
  @MethodSource("requests")
  void everyTruncationIsAProtocolError(AgentRequest request) {
    byte[] full = AgentCodec.encodeRequest(request);
    for (int n = 0; n < full.length; n++) {
      byte[] cut = java.util.Arrays.copyOf(full, n);
      try {
        AgentRequest decoded = AgentCodec.decodeRequest(cut);
        // A few prefixes are themselves complete messages (e.g. an extension with shorter contents).
        assertTrue(decoded instanceof Extension || decoded instanceof AddIdentity || decoded instanceof AddSmartcardKey,
            "prefix of " + n + " bytes decoded as " + decoded);
      } catch (ProtocolException expected) {
        // the normal outcome
      }
    }
  }

  static Stream<byte[]> malformed() {
    List<byte[]> cases = new ArrayList<>();
    cases.add(new byte[] {});
    cases.add(new byte[] {99}); // unknown type
    cases.add(new byte[] {0});
    cases.add(new byte[] {11, 0}); // trailing byte
    cases.add(new byte[] {13, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff}); // string length far beyond the body
    cases.add(new byte[] {13, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}); // length 2^32-1
    cases.add(new SshWriter().writeByte(17).writeString("ssh-unknown").toByteArray()); // unknown key type
    cases.add(new SshWriter().writeByte(25).writeRaw(ed25519Material()).writeString("c").writeByte(9).toByteArray()); // unknown constraint
    cases.add(new SshWriter().writeByte(25).writeRaw(ed25519Material()).writeString("c").writeByte(1).writeUint32(5)
        .writeByte(1).writeUint32(6).toByteArray()); // lifetime twice
    cases.add(new SshWriter().writeByte(25).writeRaw(ed25519Material()).writeString("c").writeByte(255)
        .writeString("mystery@example.com").toByteArray()); // unknown extension constraint
    cases.add(new SshWriter().writeByte(27).writeString(new byte[] {(byte) 0xc3, 0x28}).toByteArray()); // bad UTF-8 name
    cases.add(new SshWriter().writeByte(22).toByteArray()); // lock without passphrase
    return cases.stream();
  }

  @ParameterizedTest
  @MethodSource("malformed")
  void malformedBodiesAreProtocolErrors(byte[] body) {
    assertThrows(ProtocolException.class, () -> AgentCodec.decodeRequest(body));
  }

  @Test
  void addKeepsTheExactKeyMaterial() throws Exception {
    byte[] material = rsaMaterial();
    byte[] body = new SshWriter().writeByte(17).writeRaw(material).writeString("c").toByteArray();
    AddIdentity add = (AddIdentity) AgentCodec.decodeRequest(body);
    assertArrayEquals(material, add.keyMaterial());
    assertEquals("ssh-rsa", add.keyType());
    assertEquals("c", add.comment());
  }

  @Test
  void identityAnswersAreCappedByCountAndSize() {
    List<Identity> many = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      many.add(new Identity(new KeyBlob(new byte[] {(byte) i, (byte) (i >> 8)}), "k" + i, ""));
    }
    assertEquals(AgentProtocol.MAX_IDENTITIES, AgentCodec.fitIdentities(many).size());

    List<Identity> big = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      big.add(new Identity(new KeyBlob(new byte[10_000 + i]), "big" + i, ""));
    }
    List<Identity> fitted = AgentCodec.fitIdentities(big);
    assertTrue(fitted.size() < 100 && fitted.size() > 20, "fitted " + fitted.size());
    assertTrue(AgentCodec.encodeResponse(new IdentitiesAnswer(fitted)).length <= AgentProtocol.MAX_MESSAGE_LENGTH);
    assertEquals(big.subList(0, fitted.size()), fitted);
  }
}
