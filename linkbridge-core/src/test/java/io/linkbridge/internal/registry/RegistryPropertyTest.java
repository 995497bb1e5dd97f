package io.linkbridge.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.AgentStatus;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.RegistryCodec;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Property tests with seeded randomness: any command sequence, applied on two replicas in batches of
 * any size, or snapshotted and restored midway, gives equal states and checksums. A failing seed
 * reproduces the failure exactly.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RegistryPropertyTest {

  static List<RegistryCommand> randomCommands(Random r, int n) {
    List<RegistryCommand> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String agent = r.nextInt(4) == 0 ? "" : "a" + r.nextInt(5);
      String broker = "b" + r.nextInt(3);
      String service = "svc" + r.nextInt(4);
      String id = "i" + r.nextInt(30);
      switch (r.nextInt(9)) {
        case 0, 1 -> out.add(new RegistryCommand.RegisterInstance(ServiceInstance.builder(service).id(id)
            .endpoint("10.0." + r.nextInt(3) + ".1", 1 + r.nextInt(65535)).weight(r.nextInt(5)).metadata("k" + r.nextInt(3), "v" + r.nextInt(3))
            .agentId(agent).build()));
        case 2 -> out.add(new RegistryCommand.DeregisterInstance(service, id, agent));
        case 3 -> out.add(new RegistryCommand.AttachAgent(agent.isEmpty() ? "a0" : agent, broker));
        case 4 -> out.add(new RegistryCommand.DetachAgent(agent.isEmpty() ? "a0" : agent, broker));
        case 5 -> out.add(new RegistryCommand.UpdateAgentStatus(agent.isEmpty() ? "a1" : agent, AgentStatus.values()[r.nextInt(3)]));
        case 6 -> out.add(new RegistryCommand.DetachBroker(broker, 0));
        case 7 -> out.add(new RegistryCommand.AnnounceBroker(broker, new HostAndPort("10.0.0." + r.nextInt(3), 5000 + r.nextInt(2))));
        default -> { // one agent message: a group of instance and agent commands, applied all or nothing
          List<RegistryCommand> group = new ArrayList<>();
          while (group.isEmpty()) {
            randomCommands(r, 1 + r.nextInt(4)).stream().filter(c -> !(c instanceof RegistryCommand.DetachBroker
                || c instanceof RegistryCommand.AnnounceBroker || c instanceof RegistryCommand.Atomic)).forEach(group::add);
          }
          out.add(new RegistryCommand.Atomic(group));
        }
      }
    }
    return out;
  }

  static void applyInBatches(RegistryStateMachine sm, List<RegistryCommand> commands, Random r) {
    int i = 0;
    while (i < commands.size()) {
      int size = 1 + r.nextInt(20);
      List<RegistryCommand> batch = commands.subList(i, Math.min(commands.size(), i + size));
      sm.apply(1, RegistryCodec.encodeBatch(batch));
      i += batch.size();
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 42, 1234, 99_999, 7_777_777, 31_337})
  void twoReplicas_anyBatching_sameStateAndChecksum(long seed) {
    List<RegistryCommand> commands = randomCommands(new Random(seed), 2000);
    RegistryStateMachine a = new RegistryStateMachine();
    RegistryStateMachine b = new RegistryStateMachine();
    applyInBatches(a, commands, new Random(seed + 1));
    applyInBatches(b, commands, new Random(seed + 2));
    assertThat(a.state()).isEqualTo(b.state());
    assertThat(a.state().checksum()).isEqualTo(b.state().checksum());
    assertThat(a.state().revision()).isPositive();
  }

  @ParameterizedTest
  @ValueSource(longs = {5, 6, 7, 8, 2024})
  void snapshotRestoredMidway_continuesToTheSameStateAndChecksum(long seed) throws IOException {
    Random r = new Random(seed);
    List<RegistryCommand> commands = randomCommands(r, 2000);
    int cut = r.nextInt(commands.size());
    RegistryStateMachine straight = new RegistryStateMachine();
    applyInBatches(straight, commands, new Random(seed));

    RegistryStateMachine first = new RegistryStateMachine();
    applyInBatches(first, commands.subList(0, cut), new Random(seed));
    ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
    first.snapshot(snapshot);
    RegistryStateMachine restored = new RegistryStateMachine();
    restored.restore(new ByteArrayInputStream(snapshot.toByteArray()));
    assertThat(restored.state().checksum()).isEqualTo(first.state().checksum());
    applyInBatches(restored, commands.subList(cut, commands.size()), new Random(seed + 3));

    assertThat(restored.state()).isEqualTo(straight.state());
    assertThat(restored.state().checksum()).isEqualTo(straight.state().checksum());
  }

  @ParameterizedTest
  @ValueSource(longs = {31, 32, 33, 34})
  void forgettingDeadAgents_replicasAndARestoreMidwayAgree(long seed) throws IOException {
    for (int kept = 1; kept <= 2; kept++) {
      Random r = new Random(seed);
      List<RegistryCommand> commands = randomCommands(r, 2000);
      int cut = r.nextInt(commands.size());
      RegistryStateMachine a = new RegistryStateMachine(kept);
      RegistryStateMachine b = new RegistryStateMachine(kept);
      List<RegistryEvent> forgotten = new ArrayList<>();
      a.addListener(e -> {
        if (e.type() == RegistryEvent.Type.AGENT_REMOVED) {
          forgotten.add(e);
        }
      });
      applyInBatches(a, commands, new Random(seed + 1));
      applyInBatches(b, commands.subList(0, cut), new Random(seed + 2));
      ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
      b.snapshot(snapshot);
      RegistryStateMachine restored = new RegistryStateMachine(kept);
      restored.restore(new ByteArrayInputStream(snapshot.toByteArray()));
      applyInBatches(restored, commands.subList(cut, commands.size()), new Random(seed + 3));

      assertThat(forgotten).as("agents were forgotten in this run").isNotEmpty();
      assertThat(restored.state()).isEqualTo(a.state());
      assertThat(restored.state().checksum()).isEqualTo(a.state().checksum());
      assertThat(a.state().agents().stream().filter(x -> x.status() == AgentStatus.DEAD).count()).isLessThanOrEqualTo(kept);
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22, 23, 24})
  void agentIndex_alwaysTheAgentsInstancesInServiceThenIdOrder_alsoAfterARestore(long seed) throws IOException {
    Random r = new Random(seed);
    List<RegistryCommand> commands = randomCommands(r, 2000);
    RegistryStateMachine sm = new RegistryStateMachine();
    int agentOwned = 0;
    for (int i = 0; i < commands.size(); i += 20) {
      applyInBatches(sm, commands.subList(i, Math.min(commands.size(), i + 20)), r);
      assertIndexMatchesAScan(sm.state());
      agentOwned += (int) sm.state().allInstances().stream().filter(x -> !x.agentId().isEmpty()).count();
    }
    assertThat(agentOwned).as("agent-owned instances seen over the checkpoints").isPositive();
    ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
    sm.snapshot(snapshot);
    RegistryStateMachine restored = new RegistryStateMachine();
    restored.restore(new ByteArrayInputStream(snapshot.toByteArray()));
    assertIndexMatchesAScan(restored.state());
  }

  private static void assertIndexMatchesAScan(ClusterState state) {
    for (String agent : List.of("a0", "a1", "a2", "a3", "a4")) {
      assertThat(state.instancesOf(agent)).as("instances of %s at revision %d", agent, state.revision())
          .containsExactlyElementsOf(state.allInstances().stream().filter(i -> i.agentId().equals(agent)).toList());
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {11, 12, 13})
  void eventRevisions_formAGapFreeSequenceEndingAtTheStateRevision(long seed) {
    RegistryStateMachine sm = new RegistryStateMachine();
    List<Long> revisions = new ArrayList<>();
    sm.addListener(e -> revisions.add(e.revision()));
    applyInBatches(sm, randomCommands(new Random(seed), 1500), new Random(seed));
    for (int i = 0; i < revisions.size(); i++) {
      assertThat(revisions.get(i)).isEqualTo(i + 1L);
    }
    assertThat(sm.state().revision()).isEqualTo(revisions.size());
  }

  @ParameterizedTest
  @ValueSource(longs = {21, 22})
  void differentStates_differentChecksums(long seed) {
    RegistryStateMachine a = new RegistryStateMachine();
    applyInBatches(a, randomCommands(new Random(seed), 500), new Random(seed));
    RegistryStateMachine b = new RegistryStateMachine();
    applyInBatches(b, randomCommands(new Random(seed), 500), new Random(seed));
    b.applyAll(List.of(new RegistryCommand.RegisterInstance(ServiceInstance.builder("extra").id("x").endpoint("h", 1).build())));
    assertThat(a.state().checksum()).isNotEqualTo(b.state().checksum());
  }
}
