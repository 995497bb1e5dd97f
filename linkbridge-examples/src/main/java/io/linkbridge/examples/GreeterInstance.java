package io.linkbridge.examples;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A small gRPC service for the demo: it serves the standard {@code grpc.health.v1.Health} service, so
 * a call to it is a real gRPC call to a real server that the demo can start and stop.
 */
final class GreeterInstance implements AutoCloseable {
  private final Server server;

  GreeterInstance(int port) throws IOException {
    HealthStatusManager health = new HealthStatusManager();
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).addService(health.getHealthService()).build().start();
  }

  int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    try {
      server.shutdown().awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.shutdownNow();
  }
}
