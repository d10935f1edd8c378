package dev.keymux.backend.agent;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.time.Duration;

/**
 * How long keymux waits for an upstream agent and how it backs off after a failure: the
 * {@code connect-timeout}, {@code request-timeout}, {@code backoff} and {@code max-backoff} of a
 * backend block, read from the block merged over its type's reference.conf defaults.
 */
public record UpstreamTimeouts(Duration connect, Duration request, Duration backoff, Duration maxBackoff) {

  /** @throws IllegalArgumentException naming the backend and the bad setting */
  public static UpstreamTimeouts from(String name, Config withDefaults) {
    try {
      Duration connect = withDefaults.getDuration("connect-timeout");
      Duration request = withDefaults.getDuration("request-timeout");
      Duration backoff = withDefaults.getDuration("backoff");
      Duration max = withDefaults.getDuration("max-backoff");
      if (request.isZero() || request.isNegative() || backoff.isNegative() || max.compareTo(backoff) < 0) {
        throw new IllegalArgumentException("backend " + name + ": request-timeout must be positive and max-backoff >= backoff");
      }
      if (connect.isZero() || connect.isNegative()) {
        throw new IllegalArgumentException("backend " + name + ": connect-timeout must be positive");
      }
      return new UpstreamTimeouts(connect, request, backoff, max);
    } catch (ConfigException e) {
      throw new IllegalArgumentException("backend " + name + ": " + e.getMessage(), e);
    }
  }
}
