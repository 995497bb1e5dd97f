package io.linkbridge.internal;

import io.linkbridge.AgentInfo;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.RegistrationRejectedException.Reason;
import io.linkbridge.Registry;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.registry.CommandResult;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.internal.registry.RegistryStateMachine;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.util.List;
import java.util.Objects;
import java.util.SortedSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** {@link Registry} over the local replica (reads) and group commit (writes). Thread-safe. */
final class ReplicatedRegistry implements Registry {
  private final RegistryStateMachine stateMachine;
  private final RegistryWrites writes;

  ReplicatedRegistry(RegistryStateMachine stateMachine, RegistryWrites writes) {
    this.stateMachine = stateMachine;
    this.writes = writes;
  }

  @Override
  public CompletableFuture<Long> register(ServiceInstance instance) {
    Objects.requireNonNull(instance, "instance");
    if (!instance.agentId().isEmpty()) {
      return CompletableFuture.failedFuture(new RegistrationRejectedException(Reason.INVALID, "instance " + instance.service() + "/"
          + instance.id() + " names agent '" + instance.agentId() + "': Registry.register writes static instances (agentId \"\");"
          + " an agent's instances are registered by that agent (LinkBridge.agent(), or the sidecar), whose broker stream keeps them alive"));
    }
    return revisionOf(writes.submit(new RegistryCommand.RegisterInstance(instance)));
  }

  @Override
  public CompletableFuture<Long> deregister(String service, String instanceId) {
    return revisionOf(writes.submit(new RegistryCommand.DeregisterInstance(service, instanceId, "")));
  }

  private static CompletableFuture<Long> revisionOf(CompletableFuture<CommandResult> result) {
    return result.thenApply(r -> {
      if (r instanceof CommandResult.Rejected rejected) {
        throw rejected.toException();
      }
      return ((CommandResult.Applied) r).revision();
    });
  }

  @Override
  public List<ServiceInstance> instances(String service) {
    return stateMachine.state().instances(service);
  }

  @Override
  public SortedSet<String> services() {
    return stateMachine.state().services();
  }

  @Override
  public List<AgentInfo> agents() {
    return stateMachine.state().agents();
  }

  @Override
  public long revision() {
    return stateMachine.state().revision();
  }

  @Override
  public long checksum() {
    return stateMachine.state().checksum();
  }

  @Override
  public ClusterState state() {
    return stateMachine.state();
  }

  @Override
  public AutoCloseable subscribe(Consumer<RegistryEvent> listener) {
    Objects.requireNonNull(listener, "listener");
    stateMachine.addListener(listener);
    return () -> stateMachine.removeListener(listener);
  }
}
