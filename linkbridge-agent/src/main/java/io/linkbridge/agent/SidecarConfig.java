package io.linkbridge.agent;

import io.linkbridge.AgentBuilder;
import io.linkbridge.Durations;
import io.linkbridge.HostAndPort;
import io.linkbridge.LinkBridge;
import io.linkbridge.ServiceInstance;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What a sidecar agent runs, read from its YAML file ({@code agent:} at the root; see
 * {@code docs/agents.md}). Immutable; every rule is checked by {@link #parse}.
 *
 * @param agentId the agent id, unique among agents
 * @param brokers the brokers in order of preference
 * @param connectTimeout how long to wait for one broker
 * @param shutdownGrace on SIGTERM: how long the instances stay DRAINING before they are deregistered
 * @param healthInterval how often each instance's health is checked
 * @param healthTimeout the deadline of one health check
 * @param unreachableAfter failed checks in a row after which an instance counts as gone
 * @param instances the instances and how to check each one
 */
public record SidecarConfig(
    String agentId,
    List<HostAndPort> brokers,
    Duration connectTimeout,
    Duration shutdownGrace,
    Duration healthInterval,
    Duration healthTimeout,
    int unreachableAfter,
    List<Checked> instances) {

  public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(2);
  public static final Duration DEFAULT_HEALTH_INTERVAL = Duration.ofSeconds(1);
  public static final int DEFAULT_UNREACHABLE_AFTER = 3;

  /**
   * One instance and where its health is asked.
   *
   * @param instance the instance as it is registered (UP while its health says SERVING)
   * @param healthAddress where {@code grpc.health.v1.Health/Check} is called; default the instance's endpoint
   * @param healthService the service name asked; the empty string asks about the whole server
   */
  public record Checked(ServiceInstance instance, HostAndPort healthAddress, String healthService) {
    public Checked {
      Objects.requireNonNull(instance, "instance");
      Objects.requireNonNull(healthAddress, "healthAddress");
      Objects.requireNonNull(healthService, "healthService");
    }
  }

  public SidecarConfig {
    Objects.requireNonNull(agentId, "agentId");
    brokers = List.copyOf(brokers);
    instances = List.copyOf(instances);
  }

  /** Reads and checks a configuration file. */
  public static SidecarConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot be read: " + e);
    }
    return parse(text, file.getFileName().toString());
  }

  /** Reads and checks a configuration; {@code source} names it in errors. */
  public static SidecarConfig parse(String yaml, String source) {
    ConfigSection root = ConfigSection.parse(yaml, source).keys("agent");
    root.rejectUnknownKeys();
    ConfigSection agent = root.section("agent").keys("id", "brokers", "connectTimeout", "shutdownGrace", "health", "instances");
    agent.rejectUnknownKeys();
    String id = agent.convert("id", v -> {
      LinkBridge.agent().id(v); // the agent-id rule
      return v;
    });
    List<HostAndPort> brokers = new ArrayList<>();
    List<String> hostPorts = agent.strings("brokers");
    if (hostPorts.isEmpty()) {
      throw agent.error("brokers is required: list the brokers' host:port, for example [127.0.0.1:5000, 127.0.0.1:5001]");
    }
    for (int i = 0; i < hostPorts.size(); i++) {
      try {
        brokers.add(HostAndPort.parse("brokers[" + i + "]", hostPorts.get(i)));
      } catch (IllegalArgumentException e) {
        throw agent.error(e.getMessage());
      }
    }
    Duration connectTimeout = agent.duration("connectTimeout", AgentBuilder.DEFAULT_CONNECT_TIMEOUT, Duration.ofMillis(100));
    Duration grace = agent.duration("shutdownGrace", DEFAULT_SHUTDOWN_GRACE, Duration.ZERO);

    ConfigSection health = agent.sectionOrEmpty("health").keys("interval", "timeout", "unreachableAfter");
    health.rejectUnknownKeys();
    Duration interval = health.duration("interval", DEFAULT_HEALTH_INTERVAL, Duration.ofMillis(50));
    Duration timeout = health.duration("timeout", interval, Duration.ofMillis(10));
    if (timeout.compareTo(interval) > 0) {
      throw health.error("timeout must be at most interval (" + Durations.format(interval) + "), was " + Durations.format(timeout));
    }
    int unreachableAfter = health.integer("unreachableAfter", DEFAULT_UNREACHABLE_AFTER, 1, 1000);

    List<Checked> instances = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (ConfigSection s : agent.sections("instances")) {
      Checked c = instance(s);
      if (!seen.add(c.instance().service() + "/" + c.instance().id())) {
        throw s.error("id '" + c.instance().id() + "' of service '" + c.instance().service() + "' is listed twice");
      }
      instances.add(c);
    }
    return new SidecarConfig(id, brokers, connectTimeout, grace, interval, timeout, unreachableAfter, instances);
  }

  private static Checked instance(ConfigSection s) {
    s.keys("service", "id", "host", "port", "weight", "grpcServices", "metadata", "healthAddress", "healthService");
    s.rejectUnknownKeys();
    ServiceInstance.Builder b = s.convert("service", ServiceInstance::builder);
    s.convert("id", b::id);
    String host = s.string("host");
    int port = s.integer("port", 0, 1, 65535);
    if (!s.has("port")) {
      throw s.error("port is required: the port the instance serves on, 1..65535");
    }
    s.convert("host", v -> b.endpoint(v, port));
    b.weight(s.integer("weight", ServiceInstance.DEFAULT_WEIGHT, 0, 10_000));
    List<String> grpcServices = s.strings("grpcServices");
    for (int i = 0; i < grpcServices.size(); i++) {
      String name = grpcServices.get(i);
      try {
        b.grpcService(name);
      } catch (IllegalArgumentException e) {
        throw s.error("grpcServices[" + i + "]: " + e.getMessage());
      }
    }
    for (Map.Entry<String, String> m : s.stringMap("metadata").entrySet()) {
      b.metadata(m.getKey(), m.getValue());
    }
    ServiceInstance instance;
    try {
      instance = b.build();
    } catch (IllegalArgumentException e) {
      throw s.error(e.getMessage());
    }
    HostAndPort healthAddress = s.has("healthAddress") ? s.hostAndPort("healthAddress") : new HostAndPort(host, port);
    return new Checked(instance, healthAddress, s.string("healthService", ""));
  }
}
