package dev.keymux.backend.pkcs11;

import static org.junit.jupiter.api.Assertions.*;

import com.typesafe.config.ConfigFactory;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class Pkcs11SettingsTest {
  @Test
  void defaultsAndValidation() {
    Pkcs11Settings s = Pkcs11Settings.from("hsm", ConfigFactory.parseString("type = pkcs11, module = /usr/lib/x.so"));
    assertEquals("askpass", s.pin());
    assertEquals("", s.token());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Pkcs11Settings.from("hsm", ConfigFactory.parseString("type = pkcs11")))
        .getMessage().contains("module is required"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> Pkcs11Settings.from("hsm", ConfigFactory.parseString("module = x, slot = 3"))).getMessage().contains("[slot]"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> Pkcs11Settings.from("hsm", ConfigFactory.parseString("module = x, pin = 1234"))).getMessage().contains("env:NAME"));
  }

  @Test
  void bothEd25519ParameterFormsAreRecognised() {
    // PrintableString "edwards25519" (generated on SoftHSM) and OID 1.3.101.112 (imported keys).
    assertEquals("ed25519", TokenKey.curveName(HexFormat.of().parseHex("130c656477617264733235353139")));
    assertEquals("ed25519", TokenKey.curveName(HexFormat.of().parseHex("06032b6570")));
    assertEquals("nistp256", TokenKey.curveName(HexFormat.of().parseHex("06082a8648ce3d030107")));
    assertEquals("nistp384", TokenKey.curveName(HexFormat.of().parseHex("06052b81040022")));
    assertThrows(IllegalArgumentException.class, () -> TokenKey.curveName(HexFormat.of().parseHex("06052b8104000a")));
  }
}
