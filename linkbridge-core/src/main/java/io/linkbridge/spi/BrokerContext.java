package io.linkbridge.spi;

import io.linkbridge.HostAndPort;
import io.linkbridge.ProxyConfig;
import io.linkbridge.Registry;
import java.util.Objects;

/**
 * What a {@link TransportProvider} serves: this broker's id, the address to bind, its view of the
 * replicated registry, and the broker runtime a transport adapts its protocol to: client sessions,
 * readiness, the watch hub and the agent sessions. Watches and agent sessions (and how they leave
 * on a graceful shutdown) live in core, so every transport behaves the same. Immutable.
 *
 * @param brokerId this broker's id
 * @param address the address to bind
 * @param registry this broker's registry (reads from the local replica)
 * @param clients the clients connected to this broker (local, never replicated)
 * @param readiness whether this broker may serve discovery now (caught up, storage trusted, not leaving)
 * @param watches the broker's watch hub: a transport's watch streams open there
 * @param agents the broker's agent sessions: a transport's agent streams open there
 * @param proxy how the transport proxies gRPC calls to instances, if it does
 * @param proxyAddress an address of the proxy's own to bind as well, where every call is proxied;
 *     null: none
 */
public record BrokerContext(String brokerId, HostAndPort address, Registry registry, ClientSessions clients, Readiness readiness,
    Watches watches, AgentSessions agents, ProxyConfig proxy, HostAndPort proxyAddress) {
  public BrokerContext {
    Objects.requireNonNull(brokerId, "brokerId");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(clients, "clients");
    Objects.requireNonNull(readiness, "readiness");
    Objects.requireNonNull(watches, "watches");
    Objects.requireNonNull(agents, "agents");
    Objects.requireNonNull(proxy, "proxy");
  }
}
