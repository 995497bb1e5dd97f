package io.linkbridge.spi;

/**
 * Serves a broker's client-facing API (discovery, watch, agents) on the node's address. Found with
 * {@link java.util.ServiceLoader} (list the implementation in
 * {@code META-INF/services/io.linkbridge.spi.TransportProvider}); {@code linkbridge-grpc} provides the
 * gRPC one. Implementations are thread-safe.
 */
public interface TransportProvider {

  /** A short name for logs and errors, such as {@code grpc}. */
  String name();

  /**
   * Binds {@link BrokerContext#address()} and starts serving. Returns once it listens; throws
   * {@link io.linkbridge.LinkBridgeException} naming the address when it cannot bind.
   */
  BrokerTransport start(BrokerContext context);
}
