package dev.keymux.config.policy;

import dev.keymux.core.policy.Glob;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * One scoped socket ({@code keymux.sockets.NAME}): a narrower front door for a container, a CI
 * job or another user. It offers only the keys of the backends it names (and of those only the
 * ones {@code keys} lets through), applies its own rules before the global ones, and never lets
 * its clients add, remove or lock keys.
 *
 * @param mode the socket file's permission bits (e.g. 0660); its private directory gets the same
 *     read bits plus search, never write
 * @param owner user name or uid that should own the socket and its directory ("" = keymux's own)
 * @param group group name or gid ("" = keymux's primary group)
 * @param allowUids peers besides keymux's own uid that may connect (root only if listed)
 * @param expires after how long the socket is removed (zero = never)
 * @param keys fingerprints or comment patterns; empty = every key of its backends
 * @param confirm ask before every signature made through this socket
 */
public record SocketSettings(String name, Path path, int mode, String owner, String group, Set<Integer> allowUids,
    Set<Integer> allowGids, Duration expires, List<String> backends, List<String> keys, boolean confirm,
    List<PolicyRule> rules) {
  public SocketSettings {
    allowUids = Set.copyOf(allowUids);
    allowGids = Set.copyOf(allowGids);
    backends = List.copyOf(backends);
    keys = List.copyOf(keys);
    rules = List.copyOf(rules);
  }

  /** Whether {@code k} passes this socket's {@code keys} filter. */
  public boolean admits(KeyFacts k) {
    return keys.isEmpty() || keys.stream().anyMatch(p -> p.startsWith("SHA256:") || p.startsWith("MD5:")
        ? k.hasFingerprint(p) : k.comments().stream().anyMatch(c -> Glob.matches(p, c, false)));
  }
}
