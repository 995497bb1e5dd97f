package io.linkbridge.spi;

import io.linkbridge.ClientBuilder;
import io.linkbridge.FailoverConfig;
import io.linkbridge.HostAndPort;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A client's settings, checked by the builder. Immutable.
 *
 * @param brokers the brokers in order of preference
 * @param failover how to move between them
 * @param callTimeout the deadline of one request to one broker
 * @param watchProgressInterval how long a watch stream may stay idle before its broker sends a
 *     progress event; a stream silent for three of these is taken for lost
 */
public record ClientSpec(List<HostAndPort> brokers, FailoverConfig failover, Duration callTimeout, Duration watchProgressInterval) {
  public ClientSpec {
    brokers = List.copyOf(brokers);
    Objects.requireNonNull(failover, "failover");
    Objects.requireNonNull(callTimeout, "callTimeout");
    Objects.requireNonNull(watchProgressInterval, "watchProgressInterval");
  }

  /** Settings with the default watch progress interval. */
  public ClientSpec(List<HostAndPort> brokers, FailoverConfig failover, Duration callTimeout) {
    this(brokers, failover, callTimeout, ClientBuilder.DEFAULT_WATCH_PROGRESS_INTERVAL);
  }
}
