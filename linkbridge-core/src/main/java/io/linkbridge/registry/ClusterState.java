package io.linkbridge.registry;

import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The replicated registry at one revision: every service's instances and every agent. Immutable and
 * thread-safe; each applied log entry publishes a new one, sharing what did not change.
 */
public final class ClusterState {
  /** The state before the first command. */
  public static final ClusterState EMPTY = new ClusterState(0, SortedTreap.empty(), SortedTreap.empty(), SortedTreap.empty(), SortedTreap.empty(),
      SortedTreap.empty(), SortedTreap.empty());

  private final long revision;
  private final SortedTreap<SortedTreap<ServiceInstance>> services;
  private final SortedTreap<AgentInfo> agents;
  /** Derived from {@code services}, never stored: each agent's instances by {@link #byAgentKey}. */
  private final SortedTreap<SortedTreap<ServiceInstance>> byAgent;
  /** The DEAD agents, by id: the revision at which each died. */
  private final SortedTreap<Long> deadSince;
  /** The API address each broker announced, by broker id. */
  private final SortedTreap<HostAndPort> brokers;
  /** The last applied {@link RegistryCommand.Fence} of each agent that sent fenced messages, by agent id. */
  private final SortedTreap<RegistryCommand.Fence> fences;
  private volatile Long checksum;

  ClusterState(long revision, SortedTreap<SortedTreap<ServiceInstance>> services, SortedTreap<AgentInfo> agents,
      SortedTreap<SortedTreap<ServiceInstance>> byAgent, SortedTreap<Long> deadSince, SortedTreap<HostAndPort> brokers,
      SortedTreap<RegistryCommand.Fence> fences) {
    this.revision = revision;
    this.services = services;
    this.agents = agents;
    this.byAgent = byAgent;
    this.deadSince = deadSince;
    this.brokers = brokers;
    this.fences = fences;
  }

  /**
   * An instance's key in its agent's index: service, then id, so that an agent's instances come in
   * the order of {@link #allInstances()} ({@code \0} sorts before every character a name may hold).
   */
  static String byAgentKey(ServiceInstance i) {
    return i.service() + '\0' + i.id();
  }

  /** Builds a state from a full list of instances and agents; DEAD agents died at revision 0. */
  public static ClusterState of(long revision, List<ServiceInstance> instances, List<AgentInfo> agents) {
    return of(revision, instances, agents, Map.of());
  }

  /**
   * Builds a state from a full list of instances and agents (used when restoring a snapshot);
   * {@code deadSince} gives the revision at which each DEAD agent died (0 when absent).
   */
  public static ClusterState of(long revision, List<ServiceInstance> instances, List<AgentInfo> agents, Map<String, Long> deadSince) {
    return of(revision, instances, agents, deadSince, Map.of());
  }

  /**
   * Builds a state from a full list of instances and agents and the brokers' announced API addresses
   * (used when restoring a snapshot); {@code deadSince} gives the revision at which each DEAD agent died.
   */
  public static ClusterState of(long revision, List<ServiceInstance> instances, List<AgentInfo> agents, Map<String, Long> deadSince,
      Map<String, HostAndPort> brokerAddresses) {
    return of(revision, instances, agents, deadSince, brokerAddresses, List.of());
  }

  /**
   * Builds a state from everything a snapshot holds: {@code fences} are the agents' last applied
   * fences (each of an agent the state holds).
   */
  public static ClusterState of(long revision, List<ServiceInstance> instances, List<AgentInfo> agents, Map<String, Long> deadSince,
      Map<String, HostAndPort> brokerAddresses, List<RegistryCommand.Fence> fences) {
    SortedTreap<SortedTreap<ServiceInstance>> services = SortedTreap.empty();
    SortedTreap<SortedTreap<ServiceInstance>> byAgent = SortedTreap.empty();
    for (ServiceInstance i : instances) {
      services = putNested(services, i.service(), i.id(), i);
      if (!i.agentId().isEmpty()) {
        byAgent = putNested(byAgent, i.agentId(), byAgentKey(i), i);
      }
    }
    SortedTreap<AgentInfo> agentMap = SortedTreap.empty();
    SortedTreap<Long> dead = SortedTreap.empty();
    for (AgentInfo a : agents) {
      agentMap = agentMap.put(a.id(), a);
      if (a.status() == AgentStatus.DEAD) {
        dead = dead.put(a.id(), deadSince.getOrDefault(a.id(), 0L));
      }
    }
    SortedTreap<HostAndPort> brokers = SortedTreap.empty();
    for (Map.Entry<String, HostAndPort> b : brokerAddresses.entrySet()) {
      brokers = brokers.put(b.getKey(), b.getValue());
    }
    SortedTreap<RegistryCommand.Fence> fenceMap = SortedTreap.empty();
    for (RegistryCommand.Fence f : fences) {
      if (agentMap.get(f.agentId()) == null) {
        throw new IllegalArgumentException("fence of agent '" + f.agentId() + "', which the state does not hold");
      }
      fenceMap = fenceMap.put(f.agentId(), f);
    }
    return new ClusterState(revision, services, agentMap, byAgent, dead, brokers, fenceMap);
  }

  /** {@code tree} with {@code value} under {@code inner} in the map under {@code outer}. */
  static SortedTreap<SortedTreap<ServiceInstance>> putNested(SortedTreap<SortedTreap<ServiceInstance>> tree, String outer, String inner,
      ServiceInstance value) {
    SortedTreap<ServiceInstance> m = tree.get(outer);
    return tree.put(outer, (m == null ? SortedTreap.<ServiceInstance>empty() : m).put(inner, value));
  }

  /** {@code tree} without the entry {@code inner} of the map under {@code outer}; an emptied map goes too. */
  static SortedTreap<SortedTreap<ServiceInstance>> removeNested(SortedTreap<SortedTreap<ServiceInstance>> tree, String outer, String inner) {
    SortedTreap<ServiceInstance> m = tree.get(outer);
    if (m == null) {
      return tree;
    }
    m = m.remove(inner);
    return m.isEmpty() ? tree.remove(outer) : tree.put(outer, m);
  }

  /** The revision: the number of changes applied since the registry was created. */
  public long revision() {
    return revision;
  }

  /** The names of the services with at least one instance, sorted. */
  public SortedSet<String> services() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(services.keys()));
  }

  /** The instances of a service sorted by id, or an empty list. */
  public List<ServiceInstance> instances(String service) {
    SortedTreap<ServiceInstance> m = services.get(service);
    return m == null ? List.of() : Collections.unmodifiableList(m.values());
  }

  /** Whether any instance of {@code service} is registered; unlike {@link #instances} it copies nothing. */
  public boolean hasService(String service) {
    SortedTreap<ServiceInstance> m = services.get(service);
    return m != null && m.size() > 0;
  }

  /**
   * Whether {@code other} holds the very same instances as this state: true for the states before
   * and after a write that changed no instance (an agent's or a broker's record, a fence). Constant
   * time: states share what a write did not change.
   */
  public boolean sameInstancesAs(ClusterState other) {
    return services == other.services;
  }

  /** One instance, if registered. */
  public Optional<ServiceInstance> instance(String service, String id) {
    SortedTreap<ServiceInstance> m = services.get(service);
    return Optional.ofNullable(m == null ? null : m.get(id));
  }

  /** Every instance of every service, sorted by service then id. */
  public List<ServiceInstance> allInstances() {
    List<ServiceInstance> all = new ArrayList<>(instanceCount());
    services.forEach((name, m) -> m.forEach((id, i) -> all.add(i)));
    return all;
  }

  /** The number of instances of all services. */
  public int instanceCount() {
    int[] n = {0};
    services.forEach((name, m) -> n[0] += m.size());
    return n[0];
  }

  /** Every agent the registry knows, sorted by id. */
  public List<AgentInfo> agents() {
    return Collections.unmodifiableList(agents.values());
  }

  /** One agent, if known. */
  public Optional<AgentInfo> agent(String id) {
    return Optional.ofNullable(agents.get(id));
  }

  /**
   * A checksum of the whole state: the first 8 bytes of SHA-256 over its canonical encoding
   * ({@link CanonicalDigest}, written out field by field so it does not change with a serializer's
   * version). Two brokers with equal states, revision included, have equal checksums. Computed once
   * per state, on the calling thread.
   */
  public long checksum() {
    Long c = checksum;
    if (c == null) {
      c = CanonicalDigest.of(this);
      checksum = c;
    }
    return c;
  }

  SortedTreap<SortedTreap<ServiceInstance>> servicesTree() {
    return services;
  }

  SortedTreap<AgentInfo> agentsTree() {
    return agents;
  }

  SortedTreap<SortedTreap<ServiceInstance>> byAgentTree() {
    return byAgent;
  }

  SortedTreap<Long> deadSinceTree() {
    return deadSince;
  }

  SortedTreap<HostAndPort> brokersTree() {
    return brokers;
  }

  SortedTreap<RegistryCommand.Fence> fencesTree() {
    return fences;
  }

  /** The agent's last applied fence, if it sent fenced messages. */
  public Optional<RegistryCommand.Fence> fence(String agentId) {
    return Optional.ofNullable(fences.get(agentId));
  }

  /** Every agent's last applied fence, by agent id. */
  public List<RegistryCommand.Fence> fences() {
    return Collections.unmodifiableList(fences.values());
  }

  /** The API address broker {@code brokerId} announced, if it did. */
  public Optional<HostAndPort> brokerAddress(String brokerId) {
    return Optional.ofNullable(brokers.get(brokerId));
  }

  /** Every announced broker API address, by broker id (sorted). */
  public Map<String, HostAndPort> brokerAddresses() {
    Map<String, HostAndPort> out = new LinkedHashMap<>();
    brokers.forEach(out::put);
    return Collections.unmodifiableMap(out);
  }

  /** For a DEAD agent, the revision at which it died. */
  public OptionalLong deadSince(String agentId) {
    Long r = deadSince.get(agentId);
    return r == null ? OptionalLong.empty() : OptionalLong.of(r);
  }

  /** The instances an agent owns, sorted by service then id. */
  public List<ServiceInstance> instancesOf(String agentId) {
    SortedTreap<ServiceInstance> m = byAgent.get(agentId);
    return m == null ? List.of() : Collections.unmodifiableList(m.values());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ClusterState other && revision == other.revision && services.equals(other.services) && agents.equals(other.agents)
        && deadSince.equals(other.deadSince) && brokers.equals(other.brokers) && fences.equals(other.fences);
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
