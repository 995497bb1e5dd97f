package io.linkbridge.internal.agent;

import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.registry.RegistryCommand.Fence;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The writes the broker's agent sessions make for the agents connected to it, one method per agent message.
 * Each is one log command applied all or nothing on every broker (half of a register never shows),
 * and each is checked here first: the agent-id rule, that every instance belongs to the agent, and
 * {@code NodeBuilder.maxInstancesPerAgent}. Raw registry commands are not reachable through it.
 *
 * <p>Every future completes with the registry revision after the message (this broker's current
 * revision when there was nothing to change), or fails with:
 * <ul>
 *   <li>{@link io.linkbridge.RegistrationRejectedException}: the registry (or a limit of this broker)
 *       refused the message and nothing of it was applied; its {@code reason()} says why
 *       ({@code ALREADY_OWNED}, {@code AGENT_DEAD}, {@code NOT_OWNER}, {@code INVALID}, {@code LIMIT}),
 *       the message what and the fix. The agent must change what it sends.</li>
 *   <li>{@link io.linkbridge.NoQuorumException}, {@link io.linkbridge.WriteLimitException} or another
 *       {@link io.linkbridge.LinkBridgeException}: not committed (or not known to be); the agent may
 *       resend it, here or on another broker.</li>
 * </ul>
 *
 * <p>{@code fence} (null: unfenced) places each message in the agent's own sequence: a message that
 * commits after a newer one of the same agent run changes no instance ({@link Fence}).
 *
 * <p>Thread-safe. Futures complete on a write-callbacks thread of the broker, never on a Raft
 * thread; callbacks should not block (one that does holds back only itself).
 */
public interface AgentRegistrar {

  /**
   * The agent connected (or reconnected) to this broker: attaches it here and registers or replaces
   * {@code instances}, as one command. Instances it owns and does not list stay registered.
   */
  CompletableFuture<Long> attach(String agentId, List<ServiceInstance> instances, Fence fence);

  /**
   * Registers or replaces {@code instances} of the agent; with {@code attachFirst}, attaches the agent
   * to this broker in the same command (for an agent the registry no longer holds here, for example
   * after a leader's clean-up of this broker).
   */
  CompletableFuture<Long> update(String agentId, List<ServiceInstance> instances, boolean attachFirst, Fence fence);

  /** The agent is leaving: its instances become DRAINING (they stay registered, taking no new calls). */
  CompletableFuture<Long> drain(String agentId, Fence fence);

  /**
   * Removes the agent's instances {@code instanceIds} of {@code service}, as one command. An id
   * already gone is no refusal (what the agent asks holds); one owned by another agent is
   * ({@code NOT_OWNER}).
   */
  CompletableFuture<Long> deregister(String agentId, String service, List<String> instanceIds, Fence fence);

  /** Removes every instance the agent owns, as one command. */
  CompletableFuture<Long> deregisterAll(String agentId, Fence fence);

  /** This broker lost the agent's stream; an agent left with no broker becomes DEAD and its instances leave. */
  CompletableFuture<Long> detach(String agentId);
}
