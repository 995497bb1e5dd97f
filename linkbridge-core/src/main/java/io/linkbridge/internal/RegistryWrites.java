package io.linkbridge.internal;

import io.linkbridge.internal.registry.CommandResult;
import io.linkbridge.internal.registry.RegistryCommand;
import java.util.concurrent.CompletableFuture;

/**
 * Submits raw registry commands through the log: the write path under {@link io.linkbridge.Registry}
 * and {@link io.linkbridge.internal.agent.AgentRegistrar}, for the broker's own decisions (broker liveness,
 * consistency marks, announcements) and for tests. Not API: no public type hands it out, so an
 * embedder does not forge a leader's decision through the API (internal packages are a convention,
 * not a security boundary). Thread-safe.
 */
public interface RegistryWrites {

  /**
   * Proposes {@code command}; completes with its result once committed and applied on this broker,
   * on a write-callbacks thread, or fails ({@link io.linkbridge.NoQuorumException},
   * {@link io.linkbridge.WriteLimitException}, {@link io.linkbridge.LinkBridgeException}).
   */
  CompletableFuture<CommandResult> submit(RegistryCommand command);
}
