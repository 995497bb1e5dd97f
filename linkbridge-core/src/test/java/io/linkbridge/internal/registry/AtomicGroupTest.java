package io.linkbridge.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.linkbridge.HostAndPort;
import io.linkbridge.RegistrationRejectedException.Reason;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.RegistryCodec;
import io.linkbridge.internal.log.Batch;
import io.linkbridge.internal.log.Command;
import io.linkbridge.internal.registry.RegistryCommand.AnnounceBroker;
import io.linkbridge.internal.registry.RegistryCommand.Atomic;
import io.linkbridge.internal.registry.RegistryCommand.AttachAgent;
import io.linkbridge.internal.registry.RegistryCommand.ChecksumMark;
import io.linkbridge.internal.registry.RegistryCommand.DeregisterInstance;
import io.linkbridge.internal.registry.RegistryCommand.RegisterInstance;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One agent message is one command: applied all or nothing. And brokers' announced API addresses. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AtomicGroupTest {
  private final RegistryStateMachine sm = new RegistryStateMachine();
  private final List<RegistryEvent> events = new ArrayList<>();

  AtomicGroupTest() {
    sm.addListener(events::add);
  }

  static ServiceInstance instance(String id, String agent) {
    return ServiceInstance.builder("greeter").id(id).endpoint("10.0.0.1", 9000).agentId(agent).build();
  }

  private CommandResult apply(RegistryCommand c) {
    return sm.applyAll(List.of(c)).get(0);
  }

  @Test
  void aGroupRefusedHalfWay_appliesNothing_noEventNoRevision() {
    apply(new AttachAgent("other", "b1"));
    apply(new RegisterInstance(instance("taken", "other")));
    ClusterState before = sm.state();
    events.clear();

    CommandResult r = apply(new Atomic(List.of(new AttachAgent("a1", "b1"), new RegisterInstance(instance("g1", "a1")),
        new RegisterInstance(instance("taken", "a1")), new RegisterInstance(instance("g3", "a1")))));

    assertThat(r).isInstanceOfSatisfying(CommandResult.Atomic.class, g -> {
      assertThat(g.applied()).isFalse();
      assertThat(g.results()).hasSize(4);
      assertThat(g.refusal()).get().satisfies(j -> {
        assertThat(j.reason()).isEqualTo(Reason.ALREADY_OWNED);
        assertThat(j.message()).contains("command 3 of 4", "greeter/taken", "nothing of the message was applied");
      });
    });
    assertThat(sm.state()).isSameAs(before);
    assertThat(sm.state().agent("a1")).isEmpty();
    assertThat(events).isEmpty();
  }

  @Test
  void aGroupThatHolds_appliesEveryCommand_oneResultEach() {
    CommandResult r = apply(new Atomic(List.of(new AttachAgent("a1", "b1"), new RegisterInstance(instance("g1", "a1")),
        new RegisterInstance(instance("g2", "a1")))));
    assertThat(r).isEqualTo(new CommandResult.Atomic(true, List.of(new CommandResult.Applied(1), new CommandResult.Applied(2),
        new CommandResult.Applied(3))));
    assertThat(sm.state().instancesOf("a1")).extracting(ServiceInstance::id).containsExactly("g1", "g2");
  }

  @Test
  void aDeregistrationOfAnInstanceAlreadyGone_doesNotRefuseTheGroup() {
    apply(new Atomic(List.of(new AttachAgent("a1", "b1"), new RegisterInstance(instance("g1", "a1")))));
    CommandResult r = apply(new Atomic(List.of(new DeregisterInstance("greeter", "gone", "a1"), new DeregisterInstance("greeter", "g1", "a1"))));
    assertThat(r).isInstanceOfSatisfying(CommandResult.Atomic.class, g -> {
      assertThat(g.applied()).isTrue();
      assertThat(g.results().get(0)).isInstanceOfSatisfying(CommandResult.Rejected.class, j -> assertThat(j.reason()).isEqualTo(Reason.NOT_FOUND));
      assertThat(g.revision()).isEqualTo(sm.state().revision());
    });
    assertThat(sm.state().instances("greeter")).isEmpty();
  }

  @Test
  void aGroupRefusedAfterEarlierCommandsOfTheSameEntry_keepsThoseEarlierCommands() {
    List<CommandResult> results = sm.applyAll(List.of(new AttachAgent("a1", "b1"),
        new Atomic(List.of(new RegisterInstance(instance("g1", "a1")), new RegisterInstance(instance("g2", "ghost"))))));
    assertThat(results.get(0)).isEqualTo(new CommandResult.Applied(1));
    assertThat(results.get(1)).isInstanceOfSatisfying(CommandResult.Atomic.class, g -> assertThat(g.applied()).isFalse());
    assertThat(sm.state().revision()).isEqualTo(1);
    assertThat(sm.state().instances("greeter")).isEmpty();
  }

  @Test
  void aGroupOfOtherCommands_orAnEmptyOne_isRefusedWhenBuilt() {
    assertThatThrownBy(() -> new Atomic(List.of(new ChecksumMark("m")))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("only instance and agent commands");
    assertThatThrownBy(() -> new Atomic(List.of(new Atomic(List.of(new AttachAgent("a", "b")))))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Atomic(List.of())).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aNestedGroupInTheLog_isRefusedInvalid_andChangesNothing() {
    Command inner = Command.newBuilder().setAttachAgent(io.linkbridge.internal.log.AttachAgent.newBuilder().setAgentId("a").setBrokerId("b")).build();
    Command nested = Command.newBuilder().setAtomic(io.linkbridge.internal.log.Atomic.newBuilder()
        .addCommands(Command.newBuilder().setAtomic(io.linkbridge.internal.log.Atomic.newBuilder().addCommands(inner)))).build();
    byte[] entry = Batch.newBuilder().addCommands(nested).build().toByteArray();
    List<CommandResult> results = RegistryCodec.decodeResults(sm.apply(1, entry));
    assertThat(results).singleElement().isInstanceOfSatisfying(CommandResult.Rejected.class, j -> assertThat(j.reason()).isEqualTo(Reason.INVALID));
    assertThat(sm.state().revision()).isZero();
  }

  @Test
  void groupsAndTheirResults_surviveTheLogEncoding() {
    Atomic group = new Atomic(List.of(new AttachAgent("a1", "b1"), new RegisterInstance(instance("g1", "a1"))));
    byte[] entry = RegistryCodec.encodeBatch(List.of(group));
    RegistryStateMachine replica = new RegistryStateMachine();
    List<CommandResult> results = RegistryCodec.decodeResults(replica.apply(1, entry));
    assertThat(results).containsExactly(new CommandResult.Atomic(true, List.of(new CommandResult.Applied(1), new CommandResult.Applied(2))));
  }

  @Test
  void anAnnouncedAddress_isInTheStateTheSnapshotAndTheChecksum() throws IOException {
    apply(new RegisterInstance(instance("g1", "")));
    long before = sm.state().checksum();
    int eventsBefore = events.size();
    assertThat(apply(new AnnounceBroker("b2", new HostAndPort("10.0.0.2", 5000)))).isEqualTo(new CommandResult.Applied(1));
    assertThat(sm.state().brokerAddress("b2")).contains(new HostAndPort("10.0.0.2", 5000));
    assertThat(sm.state().revision()).as("metadata, not registry content: no revision").isEqualTo(1);
    assertThat(events).as("and no event for watchers").hasSize(eventsBefore);
    assertThat(sm.state().checksum()).isNotEqualTo(before);

    ClusterState announced = sm.state();
    assertThat(apply(new AnnounceBroker("b2", new HostAndPort("10.0.0.2", 5000)))).isEqualTo(new CommandResult.Applied(1));
    assertThat(sm.state()).as("the same address again changes nothing").isSameAs(announced);
    apply(new AnnounceBroker("b2", new HostAndPort("10.0.0.9", 5000)));
    assertThat(sm.state().brokerAddress("b2")).contains(new HostAndPort("10.0.0.9", 5000));

    ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
    sm.snapshot(snapshot);
    RegistryStateMachine restored = new RegistryStateMachine();
    restored.restore(new ByteArrayInputStream(snapshot.toByteArray()));
    assertThat(restored.state()).isEqualTo(sm.state());
    assertThat(restored.state().checksum()).isEqualTo(sm.state().checksum());
  }
}
