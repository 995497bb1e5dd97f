package io.linkbridge.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.linkbridge.AgentStatus;
import io.linkbridge.InstanceState;
import io.linkbridge.RegistrationRejectedException.Reason;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.RegistryCodec;
import io.linkbridge.internal.registry.RegistryCommand.Atomic;
import io.linkbridge.internal.registry.RegistryCommand.AttachAgent;
import io.linkbridge.internal.registry.RegistryCommand.DeregisterInstance;
import io.linkbridge.internal.registry.RegistryCommand.DetachAgent;
import io.linkbridge.internal.registry.RegistryCommand.Fence;
import io.linkbridge.internal.registry.RegistryCommand.RegisterInstance;
import io.linkbridge.internal.registry.RegistryCommand.UpdateAgentStatus;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An agent message that commits late, after a newer one of the same agent run went through another
 * broker, must not bring back what the agent replaced or removed: the fence keeps the newer content.
 */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AgentFenceTest {
  private static final String RUN = "6f1c0c7e-8b1e-4c41-9a55-3d2f0e0c1a77";
  private final RegistryStateMachine sm = new RegistryStateMachine();
  private final List<RegistryEvent> events = new ArrayList<>();

  AgentFenceTest() {
    sm.addListener(events::add);
  }

  private static ServiceInstance instance(String id, String version) {
    return ServiceInstance.builder("greeter").id(id).endpoint("10.0.0.1", 9000).agentId("a1").metadata("v", version).build();
  }

  private CommandResult apply(RegistryCommand c) {
    return sm.applyAll(List.of(c)).get(0);
  }

  /** A Register through broker {@code broker}: attach, then every instance, at {@code version}. */
  private CommandResult register(String broker, long version, ServiceInstance... instances) {
    List<RegistryCommand> group = new ArrayList<>();
    group.add(new AttachAgent("a1", broker));
    for (ServiceInstance i : instances) {
      group.add(new RegisterInstance(i));
    }
    return apply(new Atomic(group, new Fence("a1", RUN, version)));
  }

  @Test
  void aRegisterCommittedAfterANewerChange_keepsTheNewerContent_butAttaches() {
    register("b1", 0, instance("g1", "old"));
    apply(new Atomic(List.of(new RegisterInstance(instance("g1", "new"))), new Fence("a1", RUN, 1)));
    RegistryState newer = sm.state();
    events.clear();

    CommandResult late = register("b2", 0, instance("g1", "old")); // sent at version 0 to b2, committed only now

    assertThat(late).isInstanceOfSatisfying(CommandResult.Atomic.class, g -> {
      assertThat(g.applied()).isTrue();
      assertThat(g.results().get(0)).isInstanceOf(CommandResult.Applied.class); // the attach: b2's stream is real
      assertThat(g.results().get(1)).isInstanceOfSatisfying(CommandResult.Rejected.class, j -> {
        assertThat(j.reason()).isEqualTo(Reason.STALE);
        assertThat(j.message()).contains("greeter/g1", "version 0", "version 1 is applied already");
      });
    });
    assertThat(sm.state().instance("greeter", "g1")).get().extracting(i -> i.metadata().get("v")).isEqualTo("new");
    assertThat(sm.state().agent("a1").orElseThrow().brokers()).containsExactlyInAnyOrder("b1", "b2");
    assertThat(sm.state().fence("a1")).contains(newer.fence("a1").orElseThrow());
    assertThat(events).noneMatch(e -> e.instance() != null);
  }

  @Test
  void aRegisterCommittedAfterADeregistration_doesNotBringTheInstanceBack() {
    register("b1", 0, instance("g1", "x"), instance("g2", "x"));
    apply(new Atomic(List.of(new DeregisterInstance("greeter", "g2", "a1")), new Fence("a1", RUN, 1)));

    register("b2", 0, instance("g1", "x"), instance("g2", "x"));

    assertThat(sm.state().instancesOf("a1")).extracting(ServiceInstance::id).containsExactly("g1");
  }

  @Test
  void aStaleDrain_doesNotDrain_aStaleDetachStillDetaches() {
    register("b1", 3, instance("g1", "x"));
    apply(new Atomic(List.of(new UpdateAgentStatus("a1", AgentStatus.DRAINING)), new Fence("a1", RUN, 2)));
    assertThat(sm.state().instance("greeter", "g1")).get().extracting(ServiceInstance::state).isEqualTo(InstanceState.UP);

    apply(new Atomic(List.of(new DetachAgent("a1", "b1")), new Fence("a1", RUN, 1)));
    assertThat(sm.state().agent("a1")).get().extracting(a -> a.status()).isEqualTo(AgentStatus.DEAD);
  }

  @Test
  void theSameVersion_appliesAgain_andANewRunStartsItsOwnSequence() {
    register("b1", 5, instance("g1", "a"));
    register("b2", 5, instance("g1", "b")); // a register of the content at 5 through the second broker
    assertThat(sm.state().instance("greeter", "g1")).get().extracting(i -> i.metadata().get("v")).isEqualTo("b");

    apply(new Atomic(List.of(new AttachAgent("a1", "b1"), new RegisterInstance(instance("g1", "restarted"))),
        new Fence("a1", "another-run", 0))); // the agent restarted: its versions begin again
    assertThat(sm.state().instance("greeter", "g1")).get().extracting(i -> i.metadata().get("v")).isEqualTo("restarted");
    assertThat(sm.state().fence("a1")).contains(new Fence("a1", "another-run", 0));
  }

  @Test
  void unfencedMessages_applyInCommitOrder_andLeaveTheFence() {
    register("b1", 4, instance("g1", "fenced"));
    apply(new Atomic(List.of(new RegisterInstance(instance("g1", "unfenced")))));
    assertThat(sm.state().instance("greeter", "g1")).get().extracting(i -> i.metadata().get("v")).isEqualTo("unfenced");
    assertThat(sm.state().fence("a1")).contains(new Fence("a1", RUN, 4));
  }

  @Test
  void aRefusedGroup_leavesTheFence() {
    register("b1", 1, instance("g1", "x"));
    apply(new AttachAgent("other", "b1"));
    apply(new RegisterInstance(ServiceInstance.builder("greeter").id("taken").endpoint("10.0.0.2", 9000).agentId("other").build()));
    CommandResult r = apply(new Atomic(List.of(new RegisterInstance(ServiceInstance.builder("greeter").id("taken").endpoint("10.0.0.1", 9000)
        .agentId("a1").build())), new Fence("a1", RUN, 9)));
    assertThat(r).isInstanceOfSatisfying(CommandResult.Atomic.class, g -> assertThat(g.applied()).isFalse());
    assertThat(sm.state().fence("a1")).contains(new Fence("a1", RUN, 1));
  }

  @Test
  void fencesTravelInSnapshotsAndTheChecksum() throws Exception {
    register("b1", 0, instance("g1", "x"));
    ClusterState unfenced = ClusterState.of(sm.state().revision(), sm.state().allInstances(), sm.state().agents());
    assertThat(sm.state().checksum()).isNotEqualTo(unfenced.checksum());

    RegistryState restored = RegistryCodec.decodeSnapshot(RegistryCodec.encodeSnapshot(sm.state()));
    assertThat(restored).isEqualTo(sm.state());
    assertThat(restored.checksum()).isEqualTo(sm.state().checksum());
    assertThat(restored.fence("a1")).contains(new Fence("a1", RUN, 0));
  }

  @Test
  void aForgottenAgent_forgetsItsFence() {
    RegistryStateMachine keepsNone = new RegistryStateMachine(0);
    keepsNone.applyAll(List.of(new Atomic(List.of(new AttachAgent("a1", "b1")), new Fence("a1", RUN, 7))));
    keepsNone.applyAll(List.of(new DetachAgent("a1", "b1")));
    assertThat(keepsNone.state().agent("a1")).isEmpty();
    assertThat(keepsNone.state().fences()).isEmpty();
  }

  @Test
  void aDeadAgentKeepsItsFence_aReattachOfOlderContentRevivesItWithoutBringingBackWhatItRemoved() {
    register("b1", 0, instance("g1", "x"), instance("g2", "x"));
    apply(new Atomic(List.of(new DeregisterInstance("greeter", "g2", "a1")), new Fence("a1", RUN, 1)));
    apply(new DetachAgent("a1", "b1")); // DEAD: the registry removed its instances
    assertThat(sm.state().fence("a1")).contains(new Fence("a1", RUN, 1));

    CommandResult r = register("b2", 0, instance("g1", "x"), instance("g2", "x")); // a stream that missed the deregistration
    assertThat(r).isInstanceOfSatisfying(CommandResult.Atomic.class, g -> assertThat(g.results().subList(1, 3))
        .allSatisfy(x -> assertThat(((CommandResult.Rejected) x).reason()).isEqualTo(Reason.STALE)));
    assertThat(sm.state().agent("a1")).get().extracting(a -> a.status()).isEqualTo(AgentStatus.ALIVE);
    assertThat(sm.state().instancesOf("a1")).isEmpty(); // not g2: the agent registers again with what it runs (g1)

    register("b2", 1, instance("g1", "x"));
    assertThat(sm.state().instancesOf("a1")).extracting(ServiceInstance::id).containsExactly("g1");
  }

  @Test
  void aFencedLogEntry_decodesToTheSameCommand() throws Exception {
    Atomic fenced = new Atomic(List.of(new AttachAgent("a1", "b1"), new RegisterInstance(instance("g1", "x"))), new Fence("a1", RUN, 12));
    Atomic unfenced = new Atomic(List.of(new AttachAgent("a1", "b1")));
    assertThat(RegistryCodec.decodeBatch(RegistryCodec.encodeBatch(List.of(fenced, unfenced))).stream().map(RegistryCodec::fromProto))
        .containsExactly(fenced, unfenced);
    assertThatThrownBy(() -> new Atomic(List.of(new AttachAgent("a2", "b1")), new Fence("a1", RUN, 0)))
        .hasMessageContaining("fenced for agent a1 holds a command of another agent");
  }

  @Test
  void aFenceNamesItsRules() {
    assertThatThrownBy(() -> new Fence("a1", "", 0)).hasMessageContaining("incarnation must be 1..64");
    assertThatThrownBy(() -> new Fence("a1", "x".repeat(65), 0)).hasMessageContaining("was 65");
    assertThatThrownBy(() -> new Fence("a1", RUN, -1)).hasMessageContaining("version must be >= 0, was -1");
  }
}
