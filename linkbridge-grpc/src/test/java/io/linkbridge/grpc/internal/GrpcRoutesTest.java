package io.linkbridge.grpc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.HostAndPort;
import io.linkbridge.InstanceState;
import io.linkbridge.Registry;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.registry.RegistryCommand.AttachAgent;
import io.linkbridge.internal.registry.RegistryCommand.DeregisterInstance;
import io.linkbridge.internal.registry.RegistryCommand.DetachAgent;
import io.linkbridge.internal.registry.RegistryCommand.RegisterInstance;
import io.linkbridge.internal.registry.RegistryCommand.UpdateAgentStatus;
import io.linkbridge.internal.registry.RegistryStateMachine;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SortedSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The proxy's routes follow every change of the instances serving a gRPC service, and cost what the
 * change touched: writes to other services, however many instances the registry holds, make no
 * route read anything again.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GrpcRoutesTest {
  private final RegistryStateMachine machine = new RegistryStateMachine();
  private final CountingRegistry registry = new CountingRegistry(machine);

  @Test
  void routesFollowRegistrationsDrainsChangedServicesAndRemovals() {
    write(instance("a", "a1", InstanceState.UP, "demo.Echo"), instance("b", "b1", InstanceState.UP, "demo.Echo", "demo.Other"));
    try (GrpcRoutes routes = new GrpcRoutes(registry)) {
      List<Set<String>> told = new ArrayList<>();
      routes.addListener(told::add);
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("a1", "b1");
      assertThat(ids(routes.takingCalls("demo.Other"))).containsExactly("b1");
      assertThat(routes.takingCalls("nobody.Serves")).isEmpty();
      assertThat(routes.grpcServices()).containsExactlyInAnyOrder("demo.Echo", "demo.Other");

      write(instance("a", "a1", InstanceState.DRAINING, "demo.Echo"));
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("b1");
      assertThat(told).last().isEqualTo(Set.of("demo.Echo"));

      write(instance("b", "b1", InstanceState.UP, "demo.Other")); // b1 no longer serves demo.Echo
      assertThat(routes.takingCalls("demo.Echo")).isEmpty();
      assertThat(routes.registered("demo.Echo")).as("a1 still registers it, draining").isTrue();
      assertThat(told).last().isEqualTo(Set.of("demo.Echo", "demo.Other"));

      write(instance("c", "c1", InstanceState.UP, "demo.Echo"));
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("c1");

      machine.applyAll(List.of(new DeregisterInstance("a", "a1", ""), new DeregisterInstance("c", "c1", "")));
      assertThat(routes.takingCalls("demo.Echo")).isEmpty();
      assertThat(routes.registered("demo.Echo")).isFalse();
      assertThat(routes.grpcServices()).containsExactly("demo.Other");
    }
  }

  @Test
  void writesToOtherServices_neverMakeARouteReadTheRegistryAgain() {
    List<ServiceInstance> others = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      others.add(instance("other-" + (i % 2_000), "o" + i, InstanceState.UP, "other.S" + (i % 50)));
    }
    write(others.toArray(ServiceInstance[]::new));
    write(instance("echo", "e1", InstanceState.UP, "demo.Echo"), instance("echo", "e2", InstanceState.UP, "demo.Echo"));
    try (GrpcRoutes routes = new GrpcRoutes(registry)) {
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("e1", "e2");
      registry.reads.set(0);
      for (int i = 0; i < 1_000; i++) {
        write(instance("other-" + (i % 2_000), "o" + i, i % 2 == 0 ? InstanceState.DRAINING : InstanceState.UP, "other.S" + (i % 50)));
        assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("e1", "e2");
      }
      assertThat(registry.reads.get()).as("instances read for demo.Echo's route across 1,000 writes to other services").isZero();

      write(instance("echo", "e3", InstanceState.UP, "demo.Echo"));
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("e1", "e2", "e3");
      assertThat(registry.reads.get()).as("a route is built from the instances that registered it, as the events told").isZero();
    }
  }

  /** An agent that drains takes its instances out of every route, and back when it is ALIVE again; a DEAD agent's leave. */
  @Test
  void agentStatusMovesItsInstancesInAndOutOfRoutes() {
    machine.applyAll(List.of(new AttachAgent("agent-1", "b1")));
    ServiceInstance owned = ServiceInstance.builder("a").id("a1").endpoint("10.0.0.1", 9000).grpcService("demo.Echo").agentId("agent-1").build();
    write(owned, instance("b", "b1", InstanceState.UP, "demo.Echo"));
    try (GrpcRoutes routes = new GrpcRoutes(registry)) {
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("a1", "b1");
      machine.applyAll(List.of(new UpdateAgentStatus("agent-1", AgentStatus.DRAINING)));
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("b1");
      machine.applyAll(List.of(new UpdateAgentStatus("agent-1", AgentStatus.ALIVE)));
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("a1", "b1");
      machine.applyAll(List.of(new DetachAgent("agent-1", "b1"))); // no broker holds it: DEAD, its instances leave
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("b1");
    }
  }

  /**
   * A change of the only instance of a gRPC service that keeps it serving (its weight here) never
   * makes the service look unregistered or without instances to a call meanwhile.
   */
  @Test
  void aChangeThatKeepsAnInstanceServing_neverEmptiesTheRouteMeanwhile() throws Exception {
    write(instance("a", "a1", InstanceState.UP, "demo.Echo"));
    try (GrpcRoutes routes = new GrpcRoutes(registry)) {
      AtomicInteger gaps = new AtomicInteger();
      java.util.concurrent.atomic.AtomicBoolean run = new java.util.concurrent.atomic.AtomicBoolean(true);
      Thread caller = new Thread(() -> {
        while (run.get()) {
          if (!routes.registered("demo.Echo") || routes.takingCalls("demo.Echo").isEmpty()) {
            gaps.incrementAndGet();
          }
        }
      });
      caller.start();
      for (int n = 0; n < 20_000; n++) {
        write(ServiceInstance.builder("a").id("a1").endpoint("10.0.0.1", 9000).grpcService("demo.Echo").weight(1 + n % 2).build());
      }
      run.set(false);
      caller.join();
      assertThat(gaps.get()).as("reads that found demo.Echo without its instance").isZero();
    }
  }

  @Test
  void aRestoredSnapshotReplacesEveryRoute() throws Exception {
    RegistryStateMachine other = new RegistryStateMachine();
    other.applyAll(List.of(new RegisterInstance(instance("z", "z1", InstanceState.UP, "demo.Echo"))));
    ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
    other.snapshot(snapshot);
    write(instance("a", "a1", InstanceState.UP, "demo.Echo", "demo.Gone"));
    try (GrpcRoutes routes = new GrpcRoutes(registry)) {
      List<Set<String>> told = new ArrayList<>();
      routes.addListener(told::add);
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("a1");
      machine.restore(new ByteArrayInputStream(snapshot.toByteArray()));
      assertThat(ids(routes.takingCalls("demo.Echo"))).containsExactly("z1");
      assertThat(routes.registered("demo.Gone")).isFalse();
      assertThat(told).last().isEqualTo(Set.of("demo.Echo", "demo.Gone"));
    }
  }

  private void write(ServiceInstance... instances) {
    List<io.linkbridge.internal.registry.RegistryCommand> commands = new ArrayList<>();
    for (ServiceInstance i : instances) {
      commands.add(new RegisterInstance(i));
    }
    machine.applyAll(commands);
  }

  private static ServiceInstance instance(String service, String id, InstanceState state, String... grpcServices) {
    ServiceInstance.Builder b = ServiceInstance.builder(service).id(id).endpoint("10.0.0.1", 9000).state(state);
    for (String g : grpcServices) {
      b.grpcService(g);
    }
    return b.build();
  }

  private static List<String> ids(List<ServiceInstance> instances) {
    return instances.stream().map(ServiceInstance::id).toList();
  }

  /** A registry over a bare state machine whose states count the instances read through them. */
  private static final class CountingRegistry implements Registry {
    final AtomicInteger reads = new AtomicInteger();
    private final RegistryStateMachine machine;

    CountingRegistry(RegistryStateMachine machine) {
      this.machine = machine;
    }

    @Override
    public ClusterState state() {
      ClusterState s = machine.state();
      return new ClusterState() {
        @Override public long revision() { return s.revision(); }
        @Override public SortedSet<String> services() { return s.services(); }
        @Override public List<ServiceInstance> instances(String service) {
          List<ServiceInstance> out = s.instances(service);
          reads.addAndGet(Math.max(1, out.size()));
          return out;
        }
        @Override public boolean hasService(String service) { return s.hasService(service); }
        @Override public Optional<ServiceInstance> instance(String service, String id) { return s.instance(service, id); }
        @Override public List<ServiceInstance> allInstances() {
          reads.addAndGet(s.instanceCount());
          return s.allInstances();
        }
        @Override public int instanceCount() { return s.instanceCount(); }
        @Override public List<AgentInfo> agents() { return s.agents(); }
        @Override public Optional<AgentInfo> agent(String id) { return s.agent(id); }
        @Override public long checksum() { return s.checksum(); }
        @Override public Optional<HostAndPort> brokerAddress(String brokerId) { return s.brokerAddress(brokerId); }
        @Override public Map<String, HostAndPort> brokerAddresses() { return s.brokerAddresses(); }
        @Override public OptionalLong deadSince(String agentId) { return s.deadSince(agentId); }
        @Override public List<ServiceInstance> instancesOf(String agentId) { return s.instancesOf(agentId); }
      };
    }

    @Override
    public AutoCloseable subscribe(Consumer<RegistryEvent> listener) {
      machine.addListener(listener);
      return () -> machine.removeListener(listener);
    }

    @Override public CompletableFuture<Long> register(ServiceInstance instance) { throw new UnsupportedOperationException(); }
    @Override public CompletableFuture<Long> deregister(String service, String instanceId) { throw new UnsupportedOperationException(); }
    @Override public List<ServiceInstance> instances(String service) { return machine.state().instances(service); }
    @Override public SortedSet<String> services() { return machine.state().services(); }
    @Override public List<AgentInfo> agents() { return machine.state().agents(); }
    @Override public long revision() { return machine.state().revision(); }
    @Override public long checksum() { return machine.state().checksum(); }
  }
}
