package io.linkbridge.registry;

import io.linkbridge.AgentInfo;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.registry.RegistryState;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SortedSet;

/**
 * The replicated registry at one revision: every service's instances and every agent. Immutable and
 * thread-safe; each applied log entry publishes a new one, sharing what did not change. A broker's
 * states at one revision are {@code equal} on every broker (as are their {@link #checksum()}s). A
 * state built with {@link #of} from a broker's content may still differ from it: a broker's also
 * holds bookkeeping this view does not show (the agents' ordering fences).
 *
 * <p>Not for implementation: every state comes from a broker ({@link io.linkbridge.Registry#state()},
 * watch snapshots) or from {@link #of}; code outside Link Bridge only reads them.
 */
public interface ClusterState {
  /** The state before the first change. */
  ClusterState EMPTY = RegistryState.EMPTY;

  /** Builds a state from a full list of instances and agents; DEAD agents died at revision 0. */
  static ClusterState of(long revision, List<ServiceInstance> instances, List<AgentInfo> agents) {
    return of(revision, instances, agents, Map.of());
  }

  /**
   * Builds a state from a full list of instances and agents; {@code deadSince} gives the revision at
   * which each DEAD agent died (0 when absent).
   */
  static ClusterState of(long revision, List<ServiceInstance> instances, List<AgentInfo> agents, Map<String, Long> deadSince) {
    return of(revision, instances, agents, deadSince, Map.of());
  }

  /**
   * Builds a state from a full list of instances and agents and the brokers' announced API addresses;
   * {@code deadSince} gives the revision at which each DEAD agent died.
   */
  static ClusterState of(long revision, List<ServiceInstance> instances, List<AgentInfo> agents, Map<String, Long> deadSince,
      Map<String, HostAndPort> brokerAddresses) {
    return RegistryState.of(revision, instances, agents, deadSince, brokerAddresses, List.of());
  }

  /** The revision: the number of changes applied since the registry was created. */
  long revision();

  /** The names of the services with at least one instance, sorted. */
  SortedSet<String> services();

  /** The instances of a service sorted by id, or an empty list. */
  List<ServiceInstance> instances(String service);

  /** Whether any instance of {@code service} is registered; unlike {@link #instances} it copies nothing. */
  boolean hasService(String service);

  /** One instance, if registered. */
  Optional<ServiceInstance> instance(String service, String id);

  /** Every instance of every service, sorted by service then id. */
  List<ServiceInstance> allInstances();

  /** The number of instances of all services. */
  int instanceCount();

  /** Every agent the registry knows, sorted by id. */
  List<AgentInfo> agents();

  /** One agent, if known. */
  Optional<AgentInfo> agent(String id);

  /**
   * A checksum of the whole state: the first 8 bytes of SHA-256 over its canonical encoding (written
   * out field by field, so it does not change with a serializer's version). Two brokers with equal
   * states, revision included, have equal checksums. Computed once per state, on the calling thread.
   */
  long checksum();

  /** The API address broker {@code brokerId} announced, if it did. */
  Optional<HostAndPort> brokerAddress(String brokerId);

  /** Every announced broker API address, by broker id (sorted). */
  Map<String, HostAndPort> brokerAddresses();

  /** For a DEAD agent, the revision at which it died. */
  OptionalLong deadSince(String agentId);

  /** The instances an agent owns, sorted by service then id. */
  List<ServiceInstance> instancesOf(String agentId);
}
