package io.linkbridge.spi;

import io.linkbridge.AgentBuilder;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What an agent is: its id, the brokers to use in order, the instances it runs (owned by it), how
 * long to wait for a broker, and how it backs off between reconnects. Immutable; checked by the
 * builder.
 *
 * @param id the agent id
 * @param brokers the brokers in order of preference
 * @param instances the instances, each with {@code agentId} equal to {@code id}
 * @param connectTimeout how long to wait for one broker
 * @param retryInterval the first wait between reconnect attempts (doubling, jittered)
 * @param maxRetryInterval the longest wait between reconnect attempts
 */
public record AgentSpec(String id, List<HostAndPort> brokers, List<ServiceInstance> instances, Duration connectTimeout,
    Duration retryInterval, Duration maxRetryInterval) {
  public AgentSpec {
    Objects.requireNonNull(id, "id");
    brokers = List.copyOf(brokers);
    instances = List.copyOf(instances);
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(retryInterval, "retryInterval");
    Objects.requireNonNull(maxRetryInterval, "maxRetryInterval");
  }

  /** A spec with the default reconnect backoff. */
  public AgentSpec(String id, List<HostAndPort> brokers, List<ServiceInstance> instances, Duration connectTimeout) {
    this(id, brokers, instances, connectTimeout, AgentBuilder.DEFAULT_RETRY_INTERVAL, AgentBuilder.DEFAULT_MAX_RETRY_INTERVAL);
  }
}
