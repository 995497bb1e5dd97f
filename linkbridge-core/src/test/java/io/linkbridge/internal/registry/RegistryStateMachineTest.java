package io.linkbridge.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.InstanceState;
import io.linkbridge.RegistrationRejectedException.Reason;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.registry.RegistryCommand.AttachAgent;
import io.linkbridge.internal.registry.RegistryCommand.DeregisterInstance;
import io.linkbridge.internal.registry.RegistryCommand.DetachAgent;
import io.linkbridge.internal.registry.RegistryCommand.DetachBroker;
import io.linkbridge.internal.registry.RegistryCommand.RegisterInstance;
import io.linkbridge.internal.registry.RegistryCommand.UpdateAgentStatus;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RegistryStateMachineTest {
  private final RegistryStateMachine sm = new RegistryStateMachine();
  private final List<RegistryEvent> events = new ArrayList<>();

  RegistryStateMachineTest() {
    sm.addListener(events::add);
  }

  static ServiceInstance instance(String id, String agent) {
    return ServiceInstance.builder("greeter").id(id).endpoint("10.0.0.1", 9000).agentId(agent).build();
  }

  private CommandResult apply(RegistryCommand c) {
    return sm.applyAll(List.of(c)).get(0);
  }

  @Test
  void register_newInstance_bumpsRevisionAndEmitsRegistered() {
    assertThat(apply(new RegisterInstance(instance("g1", "")))).isEqualTo(new CommandResult.Applied(1));
    assertThat(sm.state().instances("greeter")).extracting(ServiceInstance::id).containsExactly("g1");
    assertThat(events).extracting(RegistryEvent::revision, RegistryEvent::type).containsExactly(org.assertj.core.groups.Tuple.tuple(1L, RegistryEvent.Type.INSTANCE_REGISTERED));
  }

  /** States share their instances across writes that change none (checked in constant time); hasService copies nothing. */
  @Test
  void sameInstancesAs_holdsAcrossWritesThatChangeNoInstance_andHasServiceCopiesNothing() {
    RegistryState empty = sm.state();
    assertThat(empty.hasService("greeter")).isFalse();
    apply(new RegisterInstance(instance("g1", "")));
    RegistryState one = sm.state();
    assertThat(one.sameInstancesAs(empty)).isFalse();
    assertThat(one.hasService("greeter")).isTrue();
    apply(new AttachAgent("a1", "b1")); // an agent's record only
    assertThat(sm.state().revision()).isGreaterThan(one.revision());
    assertThat(sm.state().sameInstancesAs(one)).isTrue();
    apply(new DeregisterInstance("greeter", "g1", ""));
    assertThat(sm.state().sameInstancesAs(one)).isFalse();
    assertThat(sm.state().hasService("greeter")).isFalse();
  }

  @Test
  void register_sameInstanceTwice_secondIsANoOpAtTheSameRevision() {
    apply(new RegisterInstance(instance("g1", "")));
    assertThat(apply(new RegisterInstance(instance("g1", "")))).isEqualTo(new CommandResult.Applied(1));
    assertThat(events).hasSize(1);
  }

  @Test
  void register_idOwnedByAnotherAgent_rejectedAlreadyOwned() {
    apply(new AttachAgent("a1", "b1"));
    apply(new AttachAgent("a2", "b1"));
    apply(new RegisterInstance(instance("g1", "a1")));
    CommandResult r = apply(new RegisterInstance(instance("g1", "a2")));
    assertThat(r).isInstanceOfSatisfying(CommandResult.Rejected.class, j -> {
      assertThat(j.reason()).isEqualTo(Reason.ALREADY_OWNED);
      assertThat(j.message()).contains("greeter/g1", "agent 'a1'", "agent 'a2'");
    });
    assertThat(sm.state().instance("greeter", "g1").orElseThrow().agentId()).isEqualTo("a1");
  }

  @Test
  void register_byUnknownAgent_rejectedAgentDead() {
    assertThat(apply(new RegisterInstance(instance("g1", "ghost"))))
        .isInstanceOfSatisfying(CommandResult.Rejected.class, j -> assertThat(j.reason()).isEqualTo(Reason.AGENT_DEAD));
    assertThat(sm.state().revision()).isZero();
  }

  @Test
  void deregister_unknownInstance_rejectedNotFound() {
    assertThat(apply(new DeregisterInstance("greeter", "nope", "")))
        .isInstanceOfSatisfying(CommandResult.Rejected.class, j -> assertThat(j.reason()).isEqualTo(Reason.NOT_FOUND));
  }

  @Test
  void deregister_byAgentThatDoesNotOwnIt_rejectedNotOwner() {
    apply(new AttachAgent("a1", "b1"));
    apply(new RegisterInstance(instance("g1", "a1")));
    assertThat(apply(new DeregisterInstance("greeter", "g1", "a2")))
        .isInstanceOfSatisfying(CommandResult.Rejected.class, j -> assertThat(j.reason()).isEqualTo(Reason.NOT_OWNER));
  }

  @Test
  void deregister_byOperator_removesWhateverTheOwner() {
    apply(new AttachAgent("a1", "b1"));
    apply(new RegisterInstance(instance("g1", "a1")));
    apply(new DeregisterInstance("greeter", "g1", ""));
    assertThat(sm.state().services()).isEmpty();
  }

  @Test
  void agentDraining_drainsItsInstances_oneEventEach() {
    apply(new AttachAgent("a1", "b1"));
    apply(new RegisterInstance(instance("g1", "a1")));
    apply(new RegisterInstance(instance("g2", "a1")));
    events.clear();
    apply(new UpdateAgentStatus("a1", AgentStatus.DRAINING));
    assertThat(sm.state().instances("greeter")).extracting(ServiceInstance::state).containsOnly(InstanceState.DRAINING);
    assertThat(events).extracting(RegistryEvent::type)
        .containsExactly(RegistryEvent.Type.AGENT_UPDATED, RegistryEvent.Type.INSTANCE_UPDATED, RegistryEvent.Type.INSTANCE_UPDATED);
    assertThat(events).extracting(RegistryEvent::revision).containsExactly(4L, 5L, 6L);
  }

  @Test
  void detach_lastBroker_marksAgentDeadAndRemovesItsInstances() {
    apply(new AttachAgent("a1", "b1"));
    apply(new AttachAgent("a1", "b2"));
    apply(new RegisterInstance(instance("g1", "a1")));
    apply(new DetachAgent("a1", "b1"));
    assertThat(sm.state().instances("greeter")).hasSize(1);
    apply(new DetachAgent("a1", "b2"));
    assertThat(sm.state().instances("greeter")).isEmpty();
    assertThat(sm.state().agent("a1").orElseThrow().status()).isEqualTo(AgentStatus.DEAD);
  }

  @Test
  void detachBroker_detachesEveryAgentOfThatBrokerOnly() {
    apply(new AttachAgent("a1", "b1"));
    apply(new AttachAgent("a2", "b1"));
    apply(new AttachAgent("a2", "b2"));
    apply(new DetachBroker("b1", 1));
    assertThat(sm.state().agent("a1").orElseThrow().status()).isEqualTo(AgentStatus.DEAD);
    assertThat(sm.state().agent("a2").orElseThrow().brokers()).containsExactly("b2");
  }

  @Test
  void detachBroker_committedInALaterTermThanDecided_rejectedAndNothingDetached() {
    sm.applyAll(7, List.of(new AttachAgent("a1", "b1"), new RegisterInstance(instance("g1", "a1"))));
    ClusterState before = sm.state();
    CommandResult r = sm.applyAll(8, List.of(new DetachBroker("b1", 7))).get(0); // a deposed leader's decision, forwarded to the new one
    assertThat(r).isInstanceOfSatisfying(CommandResult.Rejected.class, j -> {
      assertThat(j.reason()).isEqualTo(Reason.STALE_TERM);
      assertThat(j.message()).contains("term 7").contains("term 8");
    });
    assertThat(sm.state()).isEqualTo(before);
  }

  /** An entry an earlier version accepted, under a rule this version tightened (here: metadata values of at most 512 characters). */
  private static byte[] entryAcceptedByAnEarlierVersion() {
    var instance = io.linkbridge.internal.log.Instance.newBuilder().setService("greeter").setId("old-1").setHost("10.0.0.1").setPort(7000)
        .setWeight(1).putMetadata("note", "x".repeat(600)).build();
    return io.linkbridge.internal.log.Batch.newBuilder().addCommands(io.linkbridge.internal.log.Command.newBuilder()
        .setRegister(io.linkbridge.internal.log.RegisterInstance.newBuilder().setInstance(instance))).build().toByteArray();
  }

  @Test
  void replay_ofAnEntryATightenedRuleWouldRefuse_appliesAsItDidWhenWritten_andTheEdgeRefusesNewOnes() throws Exception {
    List<CommandResult> results = io.linkbridge.internal.RegistryCodec.decodeResults(sm.apply(1, entryAcceptedByAnEarlierVersion()));
    assertThat(results).singleElement().isInstanceOf(CommandResult.Applied.class);
    assertThat(sm.state().instances("greeter")).singleElement().satisfies(i -> assertThat(i.metadata().get("note")).hasSize(600));

    java.io.ByteArrayOutputStream snapshot = new java.io.ByteArrayOutputStream();
    sm.snapshot(snapshot);
    RegistryStateMachine restored = new RegistryStateMachine();
    restored.restore(new java.io.ByteArrayInputStream(snapshot.toByteArray()));
    assertThat(restored.state().checksum()).isEqualTo(sm.state().checksum());

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ServiceInstance.builder("greeter").id("new-1").endpoint("10.0.0.1", 7000)
        .metadata("note", "x".repeat(600)).build()).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0..512");
  }

  @Test
  void detachBroker_withoutTerm_writtenByAnEarlierVersion_appliesAsBefore() {
    sm.applyAll(7, List.of(new AttachAgent("a1", "b1")));
    sm.applyAll(8, List.of(new DetachBroker("b1", 0)));
    assertThat(sm.state().agent("a1").orElseThrow().status()).isEqualTo(AgentStatus.DEAD);
  }

  @Test
  void apply_bytesThatAreNotABatch_rejectedWithoutChangingState() {
    byte[] result = sm.apply(1, new byte[] {(byte) 0xff, 0x01, 0x02});
    assertThat(io.linkbridge.internal.RegistryCodec.decodeResults(result))
        .singleElement().isInstanceOfSatisfying(CommandResult.Rejected.class, j -> assertThat(j.reason()).isEqualTo(Reason.INVALID));
    assertThat(sm.state()).isEqualTo(ClusterState.EMPTY);
  }

  @Test
  void apply_emptyEntry_isABarrierThatChangesNothing() {
    assertThat(io.linkbridge.internal.RegistryCodec.decodeResults(sm.apply(1, new byte[0]))).isEmpty();
    assertThat(sm.state().revision()).isZero();
  }

  @Test
  void listenerThatThrows_doesNotStallTheLog() {
    sm.addListener(e -> {
      throw new IllegalStateException("boom");
    });
    apply(new RegisterInstance(instance("g1", "")));
    apply(new RegisterInstance(instance("g2", "")));
    assertThat(sm.state().revision()).isEqualTo(2);
  }

  @Test
  void stateBeforeABatch_isUnchangedByIt() {
    apply(new RegisterInstance(instance("g1", "")));
    ClusterState before = sm.state();
    apply(new RegisterInstance(instance("g2", "")));
    assertThat(before.instances("greeter")).hasSize(1);
    assertThat(sm.state().instances("greeter")).hasSize(2);
  }

  @Test
  void deadAgents_onlyTheMostRecentlyDeadAreKept_theFirstToDieIsForgottenFirst() {
    RegistryStateMachine small = new RegistryStateMachine(2);
    List<RegistryEvent> seen = new ArrayList<>();
    small.addListener(seen::add);
    for (String a : List.of("a3", "a1", "a2")) { // die in this order, not in id order
      small.applyAll(List.of(new AttachAgent(a, "b1")));
    }
    small.applyAll(List.of(new RegisterInstance(instance("g3", "a3"))));
    for (String a : List.of("a3", "a1", "a2")) {
      small.applyAll(List.of(new RegistryCommand.DetachAgent(a, "b1")));
    }
    ClusterState s = small.state();
    assertThat(s.agent("a3")).isEmpty(); // died first: forgotten when the third died
    assertThat(s.agents()).extracting(AgentInfo::id, AgentInfo::status)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("a1", AgentStatus.DEAD), org.assertj.core.groups.Tuple.tuple("a2", AgentStatus.DEAD));
    assertThat(s.deadSince("a1").getAsLong()).isLessThan(s.deadSince("a2").getAsLong());
    RegistryEvent removed = seen.get(seen.size() - 1);
    assertThat(removed.type()).isEqualTo(RegistryEvent.Type.AGENT_REMOVED);
    assertThat(removed.agent().id()).isEqualTo("a3");
    assertThat(removed.revision()).isEqualTo(s.revision());

    // a DEAD agent that attaches again is alive, and no longer counts among the dead
    small.applyAll(List.of(new AttachAgent("a1", "b2")));
    assertThat(small.state().deadSince("a1")).isEmpty();
    small.applyAll(List.of(new AttachAgent("a4", "b1"), new RegistryCommand.DetachAgent("a4", "b1")));
    assertThat(small.state().agents()).extracting(AgentInfo::id, AgentInfo::status).containsExactly(
        org.assertj.core.groups.Tuple.tuple("a1", AgentStatus.ALIVE), org.assertj.core.groups.Tuple.tuple("a2", AgentStatus.DEAD),
        org.assertj.core.groups.Tuple.tuple("a4", AgentStatus.DEAD));
  }
}
