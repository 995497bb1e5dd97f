package io.linkbridge.spi;

import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What an agent is: its id, the brokers to use in order, the instances it runs (owned by it), and
 * how long to wait for a broker. Immutable; checked by the builder.
 *
 * @param id the agent id
 * @param brokers the brokers in order of preference
 * @param instances the instances, each with {@code agentId} equal to {@code id}
 * @param connectTimeout how long to wait for one broker
 */
public record AgentSpec(String id, List<HostAndPort> brokers, List<ServiceInstance> instances, Duration connectTimeout) {
  public AgentSpec {
    Objects.requireNonNull(id, "id");
    brokers = List.copyOf(brokers);
    instances = List.copyOf(instances);
    Objects.requireNonNull(connectTimeout, "connectTimeout");
  }
}
