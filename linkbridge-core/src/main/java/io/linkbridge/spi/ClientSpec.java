package io.linkbridge.spi;

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
 */
public record ClientSpec(List<HostAndPort> brokers, FailoverConfig failover, Duration callTimeout) {
  public ClientSpec {
    brokers = List.copyOf(brokers);
    Objects.requireNonNull(failover, "failover");
    Objects.requireNonNull(callTimeout, "callTimeout");
  }
}
