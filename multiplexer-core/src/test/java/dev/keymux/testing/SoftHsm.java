package dev.keymux.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A real SoftHSM2 token store private to one test: its own softhsm2.conf and token directory,
 * tokens initialised with softhsm2-util and keys generated with OpenSC's pkcs11-tool.
 */
public final class SoftHsm {
  public static final String MODULE = "/usr/lib/softhsm/libsofthsm2.so";
  private static final Duration T = Duration.ofSeconds(60);

  private final Path conf;

  private SoftHsm(Path conf) {
    this.conf = conf;
  }

  public static boolean available() {
    return Files.isReadable(Path.of(MODULE)) && Files.isExecutable(Path.of("/usr/bin/softhsm2-util"))
        && Files.isExecutable(Path.of("/usr/bin/pkcs11-tool"));
  }

  public static SoftHsm create(Path dir) throws Exception {
    Path tokens = Files.createDirectories(dir.resolve("tokens"));
    Path conf = dir.resolve("softhsm2.conf");
    Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
    return new SoftHsm(conf);
  }

  /** SOFTHSM2_CONF for every process that should see these tokens. */
  public Map<String, String> env() {
    return Map.of("SOFTHSM2_CONF", conf.toString());
  }

  public void initToken(String label, String pin) {
    Proc.run(T, env(), "/usr/bin/softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", "87654321",
        "--pin", pin).assertOk();
  }

  public void deleteToken(String label) {
    Proc.run(T, env(), "/usr/bin/softhsm2-util", "--delete-token", "--token", label).assertOk();
  }

  /** @param keyType pkcs11-tool's: rsa:2048, EC:prime256v1, EC:secp384r1, EC:edwards25519 */
  public void generate(String token, String pin, String keyType, String id, String label) {
    Proc.run(T, env(), "/usr/bin/pkcs11-tool", "--module", MODULE, "--token-label", token, "--login", "--pin", pin,
        "--keypairgen", "--key-type", keyType, "--id", id, "--label", label).assertOk();
  }
}
