package io.linkbridge.spi;

import io.linkbridge.Agent;

/**
 * Creates {@link Agent}s: the client side of the agent protocol. Found with
 * {@link java.util.ServiceLoader}; {@code linkbridge-grpc} provides the gRPC one. Thread-safe.
 */
public interface AgentProvider {

  /** Connects, registers and returns once a broker acknowledged the registration. */
  Agent start(AgentSpec spec);
}
