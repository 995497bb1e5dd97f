package io.linkbridge.internal;

import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.RegistrationRejectedException.Reason;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.agent.AgentRegistrar;
import io.linkbridge.internal.registry.CommandResult;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.registry.ClusterState;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * {@link AgentRegistrar} over the log: each agent message becomes one {@link RegistryCommand.Atomic}
 * command, checked at this edge first (the state machine does not check what it replays, and a
 * broker's limits are its own, not the log's). Thread-safe.
 */
final class AgentRegistrations implements AgentRegistrar {
  private final String brokerId;
  private final RegistryWrites writes;
  private final Supplier<ClusterState> state;
  private final int maxInstancesPerAgent;

  AgentRegistrations(String brokerId, RegistryWrites writes, Supplier<ClusterState> state, int maxInstancesPerAgent) {
    this.brokerId = brokerId;
    this.writes = writes;
    this.state = state;
    this.maxInstancesPerAgent = maxInstancesPerAgent;
  }

  @Override
  public CompletableFuture<Long> attach(String agentId, List<ServiceInstance> instances, RegistryCommand.Fence fence) {
    return register("register", agentId, instances, true, fence);
  }

  @Override
  public CompletableFuture<Long> update(String agentId, List<ServiceInstance> instances, boolean attachFirst, RegistryCommand.Fence fence) {
    return register("update", agentId, instances, attachFirst, fence);
  }

  private CompletableFuture<Long> register(String what, String agentId, List<ServiceInstance> instances, boolean attach,
      RegistryCommand.Fence fence) {
    try {
      checkAgentId(agentId);
      Set<String> owned = new HashSet<>();
      state.get().instancesOf(agentId).forEach(i -> owned.add(key(i)));
      for (ServiceInstance i : instances) {
        if (!i.agentId().equals(agentId)) {
          throw refusal(Reason.INVALID, what + " of agent '" + agentId + "' holds instance " + key(i) + " of "
              + (i.agentId().isEmpty() ? "no agent" : "agent '" + i.agentId() + "'") + ": an agent registers only its own instances");
        }
        owned.add(key(i));
      }
      if (owned.size() > maxInstancesPerAgent) {
        throw refusal(Reason.LIMIT, what + " refused: agent '" + agentId + "' would own " + owned.size() + " instances, above the limit"
            + " maxInstancesPerAgent (" + maxInstancesPerAgent + ") of broker " + brokerId
            + "; register fewer (split them over several agents) or raise NodeBuilder.maxInstancesPerAgent");
      }
    } catch (RegistrationRejectedException e) {
      return CompletableFuture.failedFuture(e);
    }
    List<RegistryCommand> commands = new ArrayList<>(instances.size() + 1);
    if (attach) {
      commands.add(new RegistryCommand.AttachAgent(agentId, brokerId));
    }
    instances.forEach(i -> commands.add(new RegistryCommand.RegisterInstance(i)));
    return group(commands, fence, attach);
  }

  @Override
  public CompletableFuture<Long> drain(String agentId, RegistryCommand.Fence fence) {
    RegistryCommand drain = new RegistryCommand.UpdateAgentStatus(agentId, AgentStatus.DRAINING);
    return fence == null ? single(drain) : group(List.of(drain), fence, false);
  }

  @Override
  public CompletableFuture<Long> deregister(String agentId, String service, List<String> instanceIds, RegistryCommand.Fence fence) {
    Objects.requireNonNull(service, "service");
    List<RegistryCommand> commands = new ArrayList<>(instanceIds.size());
    instanceIds.forEach(id -> commands.add(new RegistryCommand.DeregisterInstance(service, id, agentId)));
    return group(commands, fence, false);
  }

  @Override
  public CompletableFuture<Long> deregisterAll(String agentId, RegistryCommand.Fence fence) {
    List<RegistryCommand> commands = new ArrayList<>();
    for (ServiceInstance i : state.get().instancesOf(agentId)) {
      commands.add(new RegistryCommand.DeregisterInstance(i.service(), i.id(), agentId));
    }
    return group(commands, fence, false);
  }

  @Override
  public CompletableFuture<Long> detach(String agentId) {
    return single(new RegistryCommand.DetachAgent(agentId, brokerId));
  }

  /**
   * One message as one command. An attach whose content was stale (older than a change of the agent
   * that went through another broker) attached the agent here but left its instances: it fails
   * with {@code STALE}, so that the agent registers again with what it runs now.
   */
  private CompletableFuture<Long> group(List<RegistryCommand> commands, RegistryCommand.Fence fence, boolean attach) {
    if (commands.isEmpty()) {
      return CompletableFuture.completedFuture(state.get().revision()); // nothing to change
    }
    return writes.submit(new RegistryCommand.Atomic(commands, fence)).thenApply(r -> {
      if (attach && r instanceof CommandResult.Atomic g && g.applied()) {
        g.results().stream().filter(x -> x instanceof CommandResult.Rejected j && j.reason() == Reason.STALE).findFirst()
            .ifPresent(x -> {
              throw refusal(Reason.STALE, "register of agent '" + fence.agentId() + "' was attached, but what it lists is older than"
                  + " what the registry holds: " + ((CommandResult.Rejected) x).message() + "; register again with what the agent runs now");
            });
      }
      return revisionOf(r);
    });
  }

  private CompletableFuture<Long> single(RegistryCommand command) {
    return writes.submit(command).thenApply(this::revisionOf);
  }

  /** The revision after the command, or the refusal as an exception (the future then fails with it). */
  private long revisionOf(CommandResult r) {
    if (r instanceof CommandResult.Rejected j) {
      throw j.toException();
    }
    if (r instanceof CommandResult.Atomic g) {
      if (!g.applied()) {
        throw g.refusal().orElseThrow().toException();
      }
      long revision = g.revision();
      return revision == 0 ? state.get().revision() : revision; // only already-gone deregistrations: nothing changed
    }
    return ((CommandResult.Applied) r).revision();
  }

  private static void checkAgentId(String agentId) {
    try {
      new AgentInfo(agentId, AgentStatus.ALIVE, Set.of()); // the agent-id rule of the model
    } catch (IllegalArgumentException | NullPointerException e) {
      throw refusal(Reason.INVALID, e.getMessage());
    }
  }

  private static RegistrationRejectedException refusal(Reason reason, String message) {
    return new RegistrationRejectedException(reason, message);
  }

  private static String key(ServiceInstance i) {
    return i.service() + "/" + i.id();
  }
}
