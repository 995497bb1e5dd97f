package io.linkbridge;

import io.linkbridge.spi.AgentProvider;
import io.linkbridge.spi.AgentSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;

/**
 * Configures and starts an {@link Agent}. Setters check their argument at once; not thread-safe;
 * reusable.
 */
public final class AgentBuilder {
  /** Default time a start or a reconnect waits for a broker before trying the next one. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);

  private String id;
  private final List<HostAndPort> brokers = new ArrayList<>();
  private final List<ServiceInstance> instances = new ArrayList<>();
  private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
  private AgentProvider provider;

  AgentBuilder() {}

  /** The agent id, unique among agents. Required. */
  public AgentBuilder id(String id) {
    this.id = new AgentInfo(id, AgentStatus.ALIVE, java.util.Set.of()).id(); // the agent-id rule
    return this;
  }

  /** The brokers to connect to, in order of preference ({@code host:port}); the agent holds up to two. */
  public AgentBuilder brokers(String... hostPorts) {
    brokers.clear();
    for (String hp : hostPorts) {
      brokers.add(HostAndPort.parse("broker", hp));
    }
    return this;
  }

  /** An instance this agent runs; call once per instance. Its agent id is set to this agent's. */
  public AgentBuilder register(ServiceInstance instance) {
    instances.add(Objects.requireNonNull(instance, "instance"));
    return this;
  }

  /** How long to wait for a broker before trying the next one; at least 100ms. */
  public AgentBuilder connectTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "connectTimeout");
    if (timeout.compareTo(Duration.ofMillis(100)) < 0) {
      throw new IllegalArgumentException("connectTimeout must be at least 100ms, was " + Durations.format(timeout));
    }
    this.connectTimeout = timeout;
    return this;
  }

  /** The agent implementation to use instead of the one found with {@link ServiceLoader}. */
  public AgentBuilder provider(AgentProvider provider) {
    this.provider = Objects.requireNonNull(provider, "provider");
    return this;
  }

  /**
   * Connects, registers every instance and returns once a broker acknowledged the registration as
   * committed.
   *
   * @throws IllegalStateException naming the missing setting
   * @throws LinkBridgeException when no broker accepted the registration (the message says why)
   */
  public Agent start() {
    if (id == null) {
      throw new IllegalStateException("id is not set: call id(\"agent-1\") before start()");
    }
    if (brokers.isEmpty()) {
      throw new IllegalStateException("brokers are not set: call brokers(\"host:port\", ...) before start()");
    }
    List<ServiceInstance> owned = new ArrayList<>();
    for (ServiceInstance i : instances) {
      owned.add(i.toBuilder().agentId(id).build());
    }
    AgentProvider p = provider;
    if (p == null) {
      Iterator<AgentProvider> it = ServiceLoader.load(AgentProvider.class, AgentBuilder.class.getClassLoader()).iterator();
      if (!it.hasNext()) {
        throw new LinkBridgeException("No AgentProvider found: add io.linkbridge:linkbridge-grpc or call AgentBuilder.provider(...)");
      }
      p = it.next();
    }
    return p.start(new AgentSpec(id, brokers, owned, connectTimeout));
  }

  @Override
  public String toString() {
    return "AgentBuilder{id=" + id + ", brokers=" + brokers + ", instances=" + instances.size() + ", connectTimeout="
        + Durations.format(connectTimeout) + "}";
  }
}
