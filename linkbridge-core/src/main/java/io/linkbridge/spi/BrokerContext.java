package io.linkbridge.spi;

import io.linkbridge.HostAndPort;
import io.linkbridge.Registry;
import java.util.Objects;

/**
 * What a {@link TransportProvider} serves: this broker's id, the address to bind, and its view of the
 * replicated registry (reads from the local replica, writes through Raft, change events). Immutable.
 *
 * @param brokerId this broker's id
 * @param address the address to bind
 * @param registry this broker's registry
 */
public record BrokerContext(String brokerId, HostAndPort address, Registry registry) {
  public BrokerContext {
    Objects.requireNonNull(brokerId, "brokerId");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(registry, "registry");
  }
}
