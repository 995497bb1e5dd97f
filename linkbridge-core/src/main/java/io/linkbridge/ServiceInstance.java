package io.linkbridge;

import io.linkbridge.internal.TrustedDecoding;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One running instance of a service: where it listens, what it serves, and whether it takes calls.
 * Immutable and thread-safe; every rule is checked when it is built and the message names the field.
 *
 * <pre>{@code
 * ServiceInstance i = ServiceInstance.builder("greeter").id("greeter-1").endpoint("10.0.0.7", 9000)
 *     .metadata("zone", "a").weight(10).grpcService("helloworld.Greeter").build();
 * }</pre>
 *
 * @param service the service name (1..253 of {@code [A-Za-z0-9._-]})
 * @param id the instance id, unique within the service (1..128 of {@code [A-Za-z0-9._:@-]})
 * @param host the host name or address callers connect to
 * @param port the port callers connect to, 1..65535
 * @param metadata labels (at most 64 entries, keys up to 63 and values up to 512 characters, 4 KiB in all)
 * @param weight the relative load-balancing weight, 0..10000 (0 takes no new calls)
 * @param grpcServices the fully qualified gRPC service names this instance serves
 * @param state {@link InstanceState#UP} or {@link InstanceState#DRAINING}
 * @param agentId the owning agent, or the empty string for a static registration
 */
public record ServiceInstance(
    String service,
    String id,
    String host,
    int port,
    Map<String, String> metadata,
    int weight,
    Set<String> grpcServices,
    InstanceState state,
    String agentId) {

  /** Default weight of an instance. */
  public static final int DEFAULT_WEIGHT = 1;

  /**
   * Checks every rule and throws {@link IllegalArgumentException} naming the field, the value and the
   * rule. State the registry replays from its log or a snapshot is not checked again (it was when it
   * came in), so a rule tightened in a later version never changes how old entries replay.
   */
  public ServiceInstance {
    boolean check = !TrustedDecoding.active();
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(metadata, "metadata");
    Objects.requireNonNull(grpcServices, "grpcServices");
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(agentId, "agentId (use \"\" for a static registration)");
    if (check) {
      Validation.requireName("service", service);
      Validation.requireId("id", id);
      Validation.requireHost("host", host);
      Validation.requirePort("port", port);
      checkMetadata(metadata);
      if (weight < 0 || weight > Validation.MAX_WEIGHT) {
        throw new IllegalArgumentException("weight must be in 0.." + Validation.MAX_WEIGHT + ", was " + weight);
      }
      grpcServices.forEach(s -> Validation.requireGrpcService("grpcService", s));
      if (!agentId.isEmpty()) {
        Validation.requireId("agentId", agentId);
      }
    }
    metadata = Collections.unmodifiableSortedMap(new TreeMap<>(metadata));
    grpcServices = Collections.unmodifiableSortedSet(new TreeSet<>(grpcServices));
  }

  private static void checkMetadata(Map<String, String> metadata) {
    if (metadata.size() > Validation.MAX_METADATA_ENTRIES) {
      throw new IllegalArgumentException("metadata must have at most " + Validation.MAX_METADATA_ENTRIES + " entries, had " + metadata.size());
    }
    int bytes = 0;
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      String key = e.getKey();
      String value = e.getValue();
      if (key == null || key.isEmpty() || key.length() > Validation.MAX_METADATA_KEY_LENGTH) {
        throw new IllegalArgumentException("metadata key must be 1.." + Validation.MAX_METADATA_KEY_LENGTH + " characters, was '" + key + "'");
      }
      if (value == null || value.length() > Validation.MAX_METADATA_VALUE_LENGTH) {
        throw new IllegalArgumentException("metadata value of '" + key + "' must be 0.." + Validation.MAX_METADATA_VALUE_LENGTH + " characters, was " + (value == null ? "null" : value.length() + " characters"));
      }
      bytes += key.getBytes(StandardCharsets.UTF_8).length + value.getBytes(StandardCharsets.UTF_8).length;
    }
    if (bytes > Validation.MAX_METADATA_BYTES) {
      throw new IllegalArgumentException("metadata must be at most " + Validation.MAX_METADATA_BYTES + " bytes of keys and values in all, was " + bytes);
    }
  }

  /** Starts a builder for an instance of {@code service}. */
  public static Builder builder(String service) {
    return new Builder(service);
  }

  /** A builder initialised from this instance. */
  public Builder toBuilder() {
    Builder b = new Builder(service).id(id).endpoint(host, port).weight(weight).state(state).agentId(agentId);
    b.metadata.putAll(metadata);
    b.grpcServices.addAll(grpcServices);
    return b;
  }

  /** This instance with another state. */
  public ServiceInstance withState(InstanceState newState) {
    return newState == state ? this : new ServiceInstance(service, id, host, port, metadata, weight, grpcServices, newState, agentId);
  }

  /** {@code true} when the instance is {@link InstanceState#UP} and has a positive weight. */
  public boolean takesCalls() {
    return state == InstanceState.UP && weight > 0;
  }

  /** Builds {@link ServiceInstance}s. Not thread-safe; reusable. */
  public static final class Builder {
    private final String service;
    private String id;
    private String host;
    private int port;
    private final Map<String, String> metadata = new TreeMap<>();
    private int weight = DEFAULT_WEIGHT;
    private final Set<String> grpcServices = new TreeSet<>();
    private InstanceState state = InstanceState.UP;
    private String agentId = "";

    private Builder(String service) {
      this.service = Validation.requireName("service", service);
    }

    public Builder id(String id) {
      this.id = Validation.requireId("id", id);
      return this;
    }

    public Builder endpoint(String host, int port) {
      Validation.requireHost("host", host);
      this.host = host;
      this.port = Validation.requirePort("port", port);
      return this;
    }

    public Builder metadata(String key, String value) {
      metadata.put(Objects.requireNonNull(key, "metadata key"), Objects.requireNonNull(value, "metadata value"));
      return this;
    }

    public Builder weight(int weight) {
      if (weight < 0 || weight > Validation.MAX_WEIGHT) {
        throw new IllegalArgumentException("weight must be in 0.." + Validation.MAX_WEIGHT + ", was " + weight);
      }
      this.weight = weight;
      return this;
    }

    public Builder grpcService(String fullyQualifiedName) {
      grpcServices.add(Validation.requireGrpcService("grpcService", fullyQualifiedName));
      return this;
    }

    public Builder state(InstanceState state) {
      this.state = Objects.requireNonNull(state, "state");
      return this;
    }

    /** The owning agent; set by the agent library, left empty for static registrations. */
    public Builder agentId(String agentId) {
      this.agentId = Objects.requireNonNull(agentId, "agentId");
      return this;
    }

    public ServiceInstance build() {
      if (id == null) {
        throw new IllegalStateException("id is not set: call id(...) on the builder of service '" + service + "'");
      }
      if (host == null) {
        throw new IllegalStateException("endpoint is not set: call endpoint(host, port) on the builder of instance '" + id + "'");
      }
      return new ServiceInstance(service, id, host, port, metadata, weight, grpcServices, state, agentId);
    }

    @Override
    public String toString() {
      return "ServiceInstance.Builder{service=" + service + ", id=" + id + ", host=" + host + ", port=" + port + ", metadata=" + metadata
          + ", weight=" + weight + ", grpcServices=" + grpcServices + ", state=" + state + ", agentId=" + agentId + "}";
    }
  }
}
