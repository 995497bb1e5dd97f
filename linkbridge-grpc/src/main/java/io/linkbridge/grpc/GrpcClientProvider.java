package io.linkbridge.grpc;

import io.linkbridge.LinkBridgeClient;
import io.linkbridge.grpc.internal.GrpcClient;
import io.linkbridge.spi.ClientProvider;
import io.linkbridge.spi.ClientSpec;

/** The gRPC client, found by {@link java.util.ServiceLoader} for {@code LinkBridge.client()}. Thread-safe. */
public final class GrpcClientProvider implements ClientProvider {
  @Override
  public LinkBridgeClient connect(ClientSpec spec) {
    return new GrpcClient(spec);
  }
}
