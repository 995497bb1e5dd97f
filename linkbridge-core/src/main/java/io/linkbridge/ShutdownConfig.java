package io.linkbridge;

import java.time.Duration;
import java.util.Objects;

/**
 * How a broker leaves on {@link Node#shutdown()} (the seed's {@code shutdown:} section). The broker
 * stops taking new clients, tells every agent and watcher connected to it which brokers to move to
 * (when {@code notifyClients}), hands over leadership, and waits at most {@code gracePeriod} for them
 * to leave before it closes what is still open. Immutable.
 *
 * @param gracePeriod the longest a graceful shutdown waits for agents and watchers to move, 0..1h
 * @param notifyClients send BROKER_LEAVING to agents and watchers; false: streams are only closed
 */
public record ShutdownConfig(Duration gracePeriod, boolean notifyClients) {
  /** Thirty seconds of grace, clients notified. */
  public static final ShutdownConfig DEFAULT = new ShutdownConfig(Duration.ofSeconds(30), true);

  public ShutdownConfig {
    Objects.requireNonNull(gracePeriod, "gracePeriod");
    if (gracePeriod.isNegative() || gracePeriod.compareTo(Duration.ofHours(1)) > 0) {
      throw new IllegalArgumentException("shutdown gracePeriod must be in 0s..1h, was " + Durations.format(gracePeriod));
    }
  }

  /** This configuration with another grace period. */
  public ShutdownConfig withGracePeriod(Duration gracePeriod) {
    return new ShutdownConfig(gracePeriod, notifyClients);
  }

  /** This configuration with clients notified or not. */
  public ShutdownConfig withNotifyClients(boolean notifyClients) {
    return new ShutdownConfig(gracePeriod, notifyClients);
  }
}
