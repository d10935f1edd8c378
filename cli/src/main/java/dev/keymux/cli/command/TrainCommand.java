package dev.keymux.cli.command;

import dev.keymux.cli.Programs;
import dev.keymux.cli.UserError;
import dev.keymux.cli.daemon.Serve;
import dev.keymux.cli.setup.DaemonJvm;
import dev.keymux.cli.setup.UserUnits;
import dev.keymux.core.agent.Identity;
import dev.keymux.core.agent.Session;
import dev.keymux.core.client.AgentClient;
import dev.keymux.core.wire.AgentRequest;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code keymux train-startup DIR} (hidden): the start-up a class-data archive records. Serves
 * the embedded defaults on DIR/agent.sock with HOME=DIR, whose .ssh holds a throwaway ed25519
 * key made with ssh-keygen, and asks what a first {@code ssh}/{@code git} asks: the key list, a signature
 * with the file's key, an {@code ssh-add} and a signature with the added key. Then it exits, and
 * the JVM writes the archive ({@code -XX:ArchiveClassesAtExit} on Java 17–23, the AOT cache of
 * {@code -XX:AOTCacheOutput} from Java 25). {@link DaemonJvm#train} (and ./keymux) run it with DIR as HOME and
 * XDG directories, so nothing of the user's is read or touched.
 */
@Command(name = "train-startup", hidden = true,
    description = "Exercise start-up and a first answer in DIR (for the class-data archive); then exit.")
final class TrainCommand implements Callable<Integer> {
  @Parameters(paramLabel = "DIR", description = "An empty scratch directory, also HOME.")
  Path dir;

  @picocli.CommandLine.Option(names = "--native-library", paramLabel = "FILE",
      description = "Also copy junixsocket's native library for this machine to FILE (what ./keymux uses).")
  Path nativeLibrary;

  @Override
  public Integer call() throws Exception {
    Path ssh = Files.createDirectories(dir.resolve(".ssh"));
    Files.setPosixFilePermissions(ssh, PosixFilePermissions.fromString("rwx------"));
    SecureRandom random = new SecureRandom();
    // A throwaway key for the file backend, made the way users make theirs.
    Programs.Outcome keygen = Programs.run(Duration.ofSeconds(30), List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "",
        "-C", "keymux-training", "-f", ssh.resolve("id_ed25519").toString()));
    if (!keygen.ok()) {
      throw new UserError("training: ssh-keygen could not make a key: " + keygen.firstLine());
    }

    ServeCommand opts = new ServeCommand();
    opts.socket = dir.resolve("agent.sock");
    CompletableFuture<Path> served = new CompletableFuture<>();
    Thread daemon = new Thread(() -> {
      try {
        Serve.run(opts.options(), served::complete);
      } catch (Exception e) {
        served.completeExceptionally(e);
      }
    }, "keymux-train-serve");
    daemon.setDaemon(true);
    daemon.start();
    Path socket = served.get(60, TimeUnit.SECONDS);

    byte[] data = new byte[64];
    random.nextBytes(data);
    try (AgentClient client = new AgentClient(socket, Duration.ofSeconds(30))) {
      Session session = Session.local();
      List<Identity> keys = client.list(session);
      for (Identity key : keys) {
        client.sign(session, key.key(), data, 0);
      }
      Ed25519PrivateKeyParameters added = new Ed25519PrivateKeyParameters(random);
      client.add(session, addRequest(added));
      for (Identity key : client.list(session)) {
        client.sign(session, key.key(), data, 0);
      }
      client.removeAll(session);
      if (keys.isEmpty()) {
        throw new UserError("training: the file backend offered no key from " + ssh);
      }
    }
    if (nativeLibrary != null) {
      java.util.Optional<String> problem = DaemonJvm.copyNativeLibrary(UserUnits.runningJar(), nativeLibrary);
      if (problem.isPresent()) {
        System.err.println("keymux: " + problem.get());
      }
    }
    return 0; // Main exits; the shutdown hook stops the daemon and the JVM writes its archive
  }

  /** SSH_AGENTC_ADD_IDENTITY's key: string type, string public key, string seed || public key. */
  private static AgentRequest.AddIdentity addRequest(Ed25519PrivateKeyParameters key) throws IOException {
    ByteArrayOutputStream material = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(material);
    byte[] pub = key.generatePublicKey().getEncoded();
    byte[] secret = Arrays.copyOf(key.getEncoded(), 64);
    System.arraycopy(pub, 0, secret, 32, 32);
    string(out, "ssh-ed25519".getBytes(StandardCharsets.US_ASCII));
    string(out, pub);
    string(out, secret);
    Arrays.fill(secret, (byte) 0);
    return new AgentRequest.AddIdentity("ssh-ed25519", material.toByteArray(), "keymux-training", List.of());
  }

  private static void string(DataOutputStream out, byte[] value) throws IOException {
    out.writeInt(value.length);
    out.write(value);
  }
}
