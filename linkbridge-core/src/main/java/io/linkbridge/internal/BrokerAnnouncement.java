package io.linkbridge.internal;

import io.linkbridge.HostAndPort;
import io.linkbridge.Peer;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.registry.ClusterState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This broker's API address in the replicated state, like an etcd member publishing its client URLs:
 * once caught up, the broker proposes {@link RegistryCommand.AnnounceBroker} unless the state already
 * holds that address, and tries again until it is committed. The other members' announced addresses
 * are where a leaving broker sends its agents and watchers. Thread-safe.
 */
final class BrokerAnnouncement {
  private static final Logger log = LoggerFactory.getLogger(BrokerAnnouncement.class);

  private final String brokerId;
  private final HostAndPort announced;
  private final List<Peer> members;
  private final Supplier<ClusterState> state;
  private final RegistryWrites writes;
  private final Executor retries;
  private final Duration retryDelay;

  /**
   * @param address the API address this broker serves, or null for a Raft-only broker (it announces nothing)
   * @param raftAddress this broker's Raft address: its host stands in for a wildcard API host (0.0.0.0, ::)
   * @param writeThreads runs the next attempt, {@code retryDelay} after a write that did not commit
   */
  BrokerAnnouncement(String brokerId, HostAndPort address, HostAndPort raftAddress, List<Peer> members, Supplier<ClusterState> state,
      RegistryWrites writes, Executor writeThreads, Duration retryDelay) {
    this.brokerId = brokerId;
    this.announced = address == null || address.port() == 0 ? null : reachable(address, raftAddress);
    this.members = List.copyOf(members);
    this.state = state;
    this.writes = writes;
    this.retries = CompletableFuture.delayedExecutor(retryDelay.toMillis(), TimeUnit.MILLISECONDS, writeThreads);
    this.retryDelay = retryDelay;
  }

  /** A wildcard bind address is no address to connect to: peers reach this broker at its Raft host. */
  private static HostAndPort reachable(HostAndPort address, HostAndPort raftAddress) {
    boolean wildcard = address.host().equals("0.0.0.0") || address.host().equals("::") || address.host().equals("0:0:0:0:0:0:0:0");
    return wildcard ? new HostAndPort(raftAddress.host(), address.port()) : address;
  }

  /** The address this broker announces, if it serves an API. */
  Optional<HostAndPort> address() {
    return Optional.ofNullable(announced);
  }

  /** Proposes this broker's address unless the state holds it; on failure tries again after the retry delay. */
  void announce() {
    if (announced == null || announced.equals(state.get().brokerAddress(brokerId).orElse(null))) {
      return;
    }
    writes.submit(new RegistryCommand.AnnounceBroker(brokerId, announced)).whenComplete((r, e) -> {
      if (e == null) {
        log.info("Broker {} announced its API address {}", brokerId, announced);
        return;
      }
      log.debug("Broker {} could not announce its API address yet ({}); trying again in {}", brokerId, e.toString(), retryDelay);
      retries.execute(this::announce); // dropped when the broker has shut down meanwhile
    });
  }

  /** The API addresses the other members announced, in member order; members that announced none are left out. */
  List<HostAndPort> otherBrokers() {
    ClusterState s = state.get();
    List<HostAndPort> out = new ArrayList<>(members.size());
    for (Peer p : members) {
      if (!p.id().equals(brokerId)) {
        s.brokerAddress(p.id()).ifPresent(out::add);
      }
    }
    return out;
  }
}
