package io.linkbridge.spi;

import io.linkbridge.HostAndPort;
import io.linkbridge.Registry;
import io.linkbridge.ShutdownConfig;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import java.util.Objects;

/**
 * What a {@link TransportProvider} serves: this broker's id, the address to bind, its view of the
 * replicated registry (reads from the local replica, writes through Raft, change events), the writes
 * of its agents, and the agent liveness settings. Immutable.
 *
 * @param brokerId this broker's id
 * @param address the address to bind
 * @param registry this broker's registry
 * @param agentPingInterval how often the broker pings each connected agent
 * @param agentTimeout how long an agent may leave pings unanswered before it is detached
 * @param clients the clients connected to this broker (local, never replicated)
 * @param agentHeartbeats pings the agents of this broker's sessions and says when one timed out
 * @param readiness whether this broker may serve discovery now (caught up, storage trusted)
 * @param shutdown how this broker leaves: grace period, whether agents and watchers are told where to go
 * @param maxWatchesPerClient the most watch streams one client session may hold open here
 * @param watches the broker's watch hub: a transport's watch streams open there
 * @param otherBrokers the API addresses the other members of the cluster announced, in member order,
 *     as far as this broker's replica holds them now (where a leaving broker sends its agents and
 *     watchers); a member that never announced one (not started yet, or Raft-only) is missing. Called
 *     on any thread; reads the local replica
 * @param agentRegistrar the writes of this broker's agent sessions, each message one atomic command
 */
public record BrokerContext(String brokerId, HostAndPort address, Registry registry, Duration agentPingInterval, Duration agentTimeout,
    ClientSessions clients, AgentHeartbeats agentHeartbeats, Readiness readiness, ShutdownConfig shutdown, int maxWatchesPerClient,
    Watches watches, Supplier<List<HostAndPort>> otherBrokers, AgentRegistrar agentRegistrar) {
  public BrokerContext {
    Objects.requireNonNull(brokerId, "brokerId");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(agentPingInterval, "agentPingInterval");
    Objects.requireNonNull(shutdown, "shutdown");
    Objects.requireNonNull(watches, "watches");
    Objects.requireNonNull(otherBrokers, "otherBrokers");
    Objects.requireNonNull(agentRegistrar, "agentRegistrar");
    Objects.requireNonNull(agentTimeout, "agentTimeout");
    Objects.requireNonNull(clients, "clients");
    Objects.requireNonNull(agentHeartbeats, "agentHeartbeats");
    Objects.requireNonNull(readiness, "readiness");
  }
}
