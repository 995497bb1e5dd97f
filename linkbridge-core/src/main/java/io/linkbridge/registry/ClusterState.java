package io.linkbridge.registry;

import io.linkbridge.AgentInfo;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.RegistryCodec;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The replicated registry at one revision: every service's instances and every agent. Immutable and
 * thread-safe; each applied log entry publishes a new one, sharing what did not change.
 */
public final class ClusterState {
  /** The state before the first command. */
  public static final ClusterState EMPTY = new ClusterState(0, new TreeMap<>(), new TreeMap<>());

  private final long revision;
  private final SortedMap<String, NavigableMap<String, ServiceInstance>> services;
  private final SortedMap<String, AgentInfo> agents;
  private volatile Long checksum;

  ClusterState(long revision, SortedMap<String, NavigableMap<String, ServiceInstance>> services, SortedMap<String, AgentInfo> agents) {
    this.revision = revision;
    this.services = services;
    this.agents = agents;
  }

  /** Builds a state from a full list of instances and agents (used when restoring a snapshot). */
  public static ClusterState of(long revision, List<ServiceInstance> instances, List<AgentInfo> agents) {
    SortedMap<String, NavigableMap<String, ServiceInstance>> services = new TreeMap<>();
    for (ServiceInstance i : instances) {
      services.computeIfAbsent(i.service(), s -> new TreeMap<>()).put(i.id(), i);
    }
    SortedMap<String, AgentInfo> agentMap = new TreeMap<>();
    for (AgentInfo a : agents) {
      agentMap.put(a.id(), a);
    }
    return new ClusterState(revision, services, agentMap);
  }

  /** The revision: the number of changes applied since the registry was created. */
  public long revision() {
    return revision;
  }

  /** The names of the services with at least one instance, sorted. */
  public SortedSet<String> services() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(services.keySet()));
  }

  /** The instances of a service sorted by id, or an empty list. */
  public List<ServiceInstance> instances(String service) {
    NavigableMap<String, ServiceInstance> m = services.get(service);
    return m == null ? List.of() : List.copyOf(m.values());
  }

  /** One instance, if registered. */
  public Optional<ServiceInstance> instance(String service, String id) {
    NavigableMap<String, ServiceInstance> m = services.get(service);
    return Optional.ofNullable(m == null ? null : m.get(id));
  }

  /** Every instance of every service, sorted by service then id. */
  public List<ServiceInstance> allInstances() {
    List<ServiceInstance> all = new ArrayList<>();
    services.values().forEach(m -> all.addAll(m.values()));
    return all;
  }

  /** The number of instances of all services. */
  public int instanceCount() {
    int n = 0;
    for (NavigableMap<String, ServiceInstance> m : services.values()) {
      n += m.size();
    }
    return n;
  }

  /** Every agent the registry knows, sorted by id. */
  public List<AgentInfo> agents() {
    return List.copyOf(agents.values());
  }

  /** One agent, if known. */
  public Optional<AgentInfo> agent(String id) {
    return Optional.ofNullable(agents.get(id));
  }

  /**
   * A checksum of the whole state: the first 8 bytes of the SHA-256 of its canonical snapshot
   * encoding. Two brokers with equal states, revision included, have equal checksums.
   */
  public long checksum() {
    Long c = checksum;
    if (c == null) {
      try {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(RegistryCodec.encodeSnapshot(this));
        c = ByteBuffer.wrap(digest).getLong();
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-256 is required of every Java platform", e);
      }
      checksum = c;
    }
    return c;
  }

  SortedMap<String, NavigableMap<String, ServiceInstance>> servicesView() {
    return services;
  }

  SortedMap<String, AgentInfo> agentsView() {
    return agents;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ClusterState other && revision == other.revision && services.equals(other.services) && agents.equals(other.agents);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(revision) * 31 + services.hashCode();
  }

  @Override
  public String toString() {
    return "ClusterState{revision=" + revision + ", services=" + services.size() + ", instances=" + instanceCount() + ", agents=" + agents.size() + "}";
  }

}
