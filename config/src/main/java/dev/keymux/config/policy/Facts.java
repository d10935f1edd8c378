package dev.keymux.config.policy;

import dev.keymux.core.agent.KeyBlob;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.function.Supplier;

/**
 * Everything a rule may look at for one key on one connection.
 *
 * @param hostKey the host key of the destination the connection is bound to, or null
 * @param forwarded whether the request arrived through agent forwarding
 * @param client read from /proc only when a rule asks about the client
 */
public record Facts(String socket, int uid, Supplier<ClientInfo> client, KeyBlob hostKey, boolean forwarded,
    KnownHosts knownHosts, KeyFacts key, ZonedDateTime now) {
  public Facts withKey(KeyFacts k) {
    return new Facts(socket, uid, client, hostKey, forwarded, knownHosts, k, now);
  }
}
