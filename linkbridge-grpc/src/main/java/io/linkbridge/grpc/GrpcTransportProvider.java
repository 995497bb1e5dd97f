package io.linkbridge.grpc;

import io.linkbridge.grpc.internal.BrokerServer;
import io.linkbridge.spi.BrokerContext;
import io.linkbridge.spi.BrokerTransport;
import io.linkbridge.spi.TransportProvider;

/**
 * Serves a broker's gRPC API (discovery and watch, {@code grpc.health.v1.Health}, server reflection)
 * on the node's address. Found by {@link java.util.ServiceLoader} when {@code linkbridge-grpc} is on
 * the class path. Thread-safe.
 */
public final class GrpcTransportProvider implements TransportProvider {

  @Override
  public String name() {
    return "grpc";
  }

  @Override
  public BrokerTransport start(BrokerContext context) {
    return BrokerServer.start(context);
  }
}
