package io.linkbridge.grpc;

import io.linkbridge.Agent;
import io.linkbridge.grpc.internal.GrpcAgent;
import io.linkbridge.spi.AgentProvider;
import io.linkbridge.spi.AgentSpec;

/** The gRPC agent, found by {@link java.util.ServiceLoader} for {@code LinkBridge.agent()}. Thread-safe. */
public final class GrpcAgentProvider implements AgentProvider {
  @Override
  public Agent start(AgentSpec spec) {
    return GrpcAgent.start(spec);
  }
}
