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
  /** Default first wait between reconnect attempts. */
  public static final Duration DEFAULT_RETRY_INTERVAL = Duration.ofMillis(500);
  /** Default longest wait between reconnect attempts. */
  public static final Duration DEFAULT_MAX_RETRY_INTERVAL = Duration.ofSeconds(5);

  private String id;
  private final List<HostAndPort> brokers = new ArrayList<>();
  private final List<ServiceInstance> instances = new ArrayList<>();
  private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
  private Duration retryInterval = DEFAULT_RETRY_INTERVAL;
  private Duration maxRetryInterval = DEFAULT_MAX_RETRY_INTERVAL;
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

  /**
   * The first wait between two attempts to reach a broker when the agent holds fewer streams than it
   * wants (at least 10ms; default 500ms). Each further wait doubles up to {@link #maxRetryInterval},
   * shortened by a random 0..20% so that agents that lost the same broker do not return in lock-step.
   */
  public AgentBuilder retryInterval(Duration interval) {
    Objects.requireNonNull(interval, "retryInterval");
    if (interval.compareTo(Duration.ofMillis(10)) < 0) {
      throw new IllegalArgumentException("retryInterval must be at least 10ms, was " + Durations.format(interval));
    }
    this.retryInterval = interval;
    return this;
  }

  /** The longest wait between reconnect attempts (at least {@link #retryInterval}, checked by {@link #start()}; default 5s). */
  public AgentBuilder maxRetryInterval(Duration interval) {
    Objects.requireNonNull(interval, "maxRetryInterval");
    if (interval.compareTo(Duration.ofMillis(10)) < 0) {
      throw new IllegalArgumentException("maxRetryInterval must be at least 10ms, was " + Durations.format(interval));
    }
    this.maxRetryInterval = interval;
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
   * @throws IllegalArgumentException when maxRetryInterval is shorter than retryInterval
   * @throws LinkBridgeException when no broker accepted the registration (the message says why)
   */
  public Agent start() {
    if (id == null) {
      throw new IllegalStateException("id is not set: call id(\"agent-1\") before start()");
    }
    if (brokers.isEmpty()) {
      throw new IllegalStateException("brokers are not set: call brokers(\"host:port\", ...) before start()");
    }
    if (maxRetryInterval.compareTo(retryInterval) < 0) {
      throw new IllegalArgumentException("maxRetryInterval (" + Durations.format(maxRetryInterval) + ") must be at least retryInterval ("
          + Durations.format(retryInterval) + ")");
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
    return p.start(new AgentSpec(id, brokers, owned, connectTimeout, retryInterval, maxRetryInterval));
  }

  @Override
  public String toString() {
    return "AgentBuilder{id=" + id + ", brokers=" + brokers + ", instances=" + instances.size() + ", connectTimeout="
        + Durations.format(connectTimeout) + ", retryInterval=" + Durations.format(retryInterval) + ", maxRetryInterval="
        + Durations.format(maxRetryInterval) + "}";
  }
}
