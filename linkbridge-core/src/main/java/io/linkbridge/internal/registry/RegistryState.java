package io.linkbridge.internal.registry;

import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import io.linkbridge.registry.ClusterState;
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
 * The one implementation of {@link ClusterState}: persistent trees, so each applied log entry
 * publishes a new state that shares what did not change. Also holds what only the state machine reads
 * (the agents' fences). Immutable and thread-safe.
 */
public final class RegistryState implements ClusterState {
  /** The state before the first command. */
  public static final RegistryState EMPTY = new RegistryState(0, SortedTreap.empty(), SortedTreap.empty(), SortedTreap.empty(), SortedTreap.empty(),
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

  RegistryState(long revision, SortedTreap<SortedTreap<ServiceInstance>> services, SortedTreap<AgentInfo> agents,
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

  /**
   * Builds a state from everything a snapshot holds: {@code fences} are the agents' last applied
   * fences (each of an agent the state holds).
   */
  public static RegistryState of(long revision, List<ServiceInstance> instances, List<AgentInfo> agents, Map<String, Long> deadSince,
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
    return new RegistryState(revision, services, agentMap, byAgent, dead, brokers, fenceMap);
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

  @Override
  public long revision() {
    return revision;
  }

  @Override
  public SortedSet<String> services() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(services.keys()));
  }

  @Override
  public List<ServiceInstance> instances(String service) {
    SortedTreap<ServiceInstance> m = services.get(service);
    return m == null ? List.of() : Collections.unmodifiableList(m.values());
  }

  @Override
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
    return other instanceof RegistryState o && services == o.services;
  }

  @Override
  public Optional<ServiceInstance> instance(String service, String id) {
    SortedTreap<ServiceInstance> m = services.get(service);
    return Optional.ofNullable(m == null ? null : m.get(id));
  }

  @Override
  public List<ServiceInstance> allInstances() {
    List<ServiceInstance> all = new ArrayList<>(instanceCount());
    services.forEach((name, m) -> m.forEach((id, i) -> all.add(i)));
    return all;
  }

  @Override
  public int instanceCount() {
    int[] n = {0};
    services.forEach((name, m) -> n[0] += m.size());
    return n[0];
  }

  @Override
  public List<AgentInfo> agents() {
    return Collections.unmodifiableList(agents.values());
  }

  @Override
  public Optional<AgentInfo> agent(String id) {
    return Optional.ofNullable(agents.get(id));
  }

  @Override
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

  @Override
  public Optional<HostAndPort> brokerAddress(String brokerId) {
    return Optional.ofNullable(brokers.get(brokerId));
  }

  @Override
  public Map<String, HostAndPort> brokerAddresses() {
    Map<String, HostAndPort> out = new LinkedHashMap<>();
    brokers.forEach(out::put);
    return Collections.unmodifiableMap(out);
  }

  @Override
  public OptionalLong deadSince(String agentId) {
    Long r = deadSince.get(agentId);
    return r == null ? OptionalLong.empty() : OptionalLong.of(r);
  }

  @Override
  public List<ServiceInstance> instancesOf(String agentId) {
    SortedTreap<ServiceInstance> m = byAgent.get(agentId);
    return m == null ? List.of() : Collections.unmodifiableList(m.values());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RegistryState other && revision == other.revision && services.equals(other.services) && agents.equals(other.agents)
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
