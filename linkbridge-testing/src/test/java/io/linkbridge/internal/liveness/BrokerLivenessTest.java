package io.linkbridge.internal.liveness;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.Registry;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.registry.CommandResult;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.internal.registry.RegistryStateMachine;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import io.linkbridge.spi.ConsensusEngine;
import io.linkbridge.spi.MemberStatus;
import io.linkbridge.testing.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * When the leader judges a broker crashed, on a fake clock: never from a stall of its own, never for a
 * member it has not heard from in a new term before the timeout has passed in that term, never while
 * it hears from no majority; and its decision carries its term.
 */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BrokerLivenessTest {
  static final Duration TIMEOUT = Duration.ofMillis(300);
  static final Duration BEAT = Duration.ofMillis(50);

  private final FakeClock clock = new FakeClock();
  private final StallDetector stalls = new StallDetector("b1", clock, StallDetector.thresholdFor(TIMEOUT));
  private final FakeEngine engine = new FakeEngine();
  private final RegistryStateMachine sm = new RegistryStateMachine();
  private final List<RegistryCommand> proposed = new ArrayList<>();
  private final BrokerLiveness liveness = new BrokerLiveness("b1", engine, new FakeRegistry(), this::commitAtOnce, stalls, TIMEOUT);

  @BeforeEach
  void agentsOnEveryBroker() {
    sm.applyAll(1, List.of(new RegistryCommand.AttachAgent("a2", "b2"), new RegistryCommand.AttachAgent("a3", "b3"),
        new RegistryCommand.RegisterInstance(ServiceInstance.builder("s").id("i2").endpoint("h", 1).agentId("a2").build())));
    engine.leader = true;
    engine.term = 3;
  }

  /** Runs the checker every beat for {@code d}, the clock and stall ticker advancing as on a running broker. */
  private void runFor(Duration d) {
    for (long t = 0; t < d.toMillis(); t += 10) {
      clock.advance(Duration.ofMillis(10));
      stalls.tick();
      engine.age(10);
      if (t % BEAT.toMillis() == 0) {
        liveness.check();
      }
    }
  }

  private boolean detached(String broker) {
    return proposed.contains(new RegistryCommand.DetachBroker(broker, engine.term));
  }

  @Test
  void aBrokerSilentLongerThanTheTimeout_isDetached_withTheTermOfTheDecision() {
    engine.answering("b2", "b3");
    runFor(Duration.ofMillis(500));
    engine.silent("b3");
    runFor(TIMEOUT.plus(BEAT.multipliedBy(2)));
    assertThat(proposed).containsExactly(new RegistryCommand.DetachBroker("b3", 3));
    assertThat(sm.state().agent("a3").orElseThrow().status()).isEqualTo(AgentStatus.DEAD);
    assertThat(sm.state().agent("a2").orElseThrow().status()).isEqualTo(AgentStatus.ALIVE);
  }

  @Test
  void aNewTerm_aMemberNotHeardYet_countsSilentOnlySinceTheTermBegan() {
    engine.notHeardThisTerm("b2", "b3"); // Atomix resets what it knows when a member becomes leader
    runFor(TIMEOUT.minus(BEAT));
    assertThat(proposed).isEmpty();
    engine.answering("b2", "b3");
    runFor(Duration.ofSeconds(2));
    assertThat(proposed).isEmpty();
  }

  @Test
  void leaderStalledLongerThanTheTimeout_detachesNobodyOnResuming() {
    engine.answering("b2", "b3");
    runFor(Duration.ofMillis(500));
    engine.silent("b2", "b3");
    clock.advance(Duration.ofMillis(2000)); // SIGSTOP: nothing ran, the followers' last answers are 2 s old
    engine.age(2000);
    liveness.check(); // the first thing to run after SIGCONT, before the ticker or any follower's answer
    runFor(BEAT);
    engine.answering("b2", "b3"); // their next answers arrive
    runFor(Duration.ofSeconds(1));
    assertThat(proposed).isEmpty();
  }

  @Test
  void afterAStall_aBrokerThatStaysSilent_isDetachedATimeoutAfterTheStallEnded() {
    engine.answering("b2", "b3");
    runFor(Duration.ofMillis(500));
    engine.silent("b2", "b3");
    clock.advance(Duration.ofMillis(2000));
    engine.age(2000);
    engine.answering("b2");
    runFor(TIMEOUT.minus(BEAT));
    assertThat(proposed).isEmpty();
    runFor(BEAT.multipliedBy(3));
    assertThat(proposed).containsExactly(new RegistryCommand.DetachBroker("b3", 3));
  }

  @Test
  void aLeaderThatHearsFromNoMajority_judgesNobody() {
    engine.answering("b2", "b3");
    runFor(Duration.ofMillis(500));
    engine.silent("b2", "b3"); // this leader is the one cut off
    runFor(Duration.ofSeconds(3));
    assertThat(proposed).isEmpty();
  }

  @Test
  void notLeader_judgesNobody() {
    engine.leader = false;
    engine.silent("b2", "b3");
    runFor(Duration.ofSeconds(2));
    assertThat(proposed).isEmpty();
  }

  @Test
  void leadershipRegained_inALaterTerm_theWindowStartsAgain() {
    engine.answering("b2", "b3");
    runFor(Duration.ofMillis(500));
    engine.leader = false;
    engine.silent("b3");
    runFor(Duration.ofMillis(500));
    engine.leader = true;
    engine.term = 5;
    runFor(TIMEOUT.minus(BEAT));
    assertThat(proposed).isEmpty();
    runFor(BEAT.multipliedBy(3));
    assertThat(proposed).containsExactly(new RegistryCommand.DetachBroker("b3", 5));
  }

  /** Members b1 (local), b2, b3; each remote one answered {@code age} ms ago, or not in this term (-1). */
  private static final class FakeEngine implements ConsensusEngine {
    volatile boolean leader;
    volatile long term;
    final Map<String, Long> sinceContact = new ConcurrentHashMap<>(Map.of("b2", -1L, "b3", -1L));
    final Map<String, Boolean> answering = new ConcurrentHashMap<>(Map.of("b2", false, "b3", false));

    void answering(String... ids) {
      for (String id : ids) {
        answering.put(id, true);
        sinceContact.put(id, 0L);
      }
    }

    void silent(String... ids) {
      for (String id : ids) {
        answering.put(id, false);
      }
    }

    void notHeardThisTerm(String... ids) {
      for (String id : ids) {
        answering.put(id, false);
        sinceContact.put(id, -1L);
      }
    }

    void age(long millis) {
      sinceContact.replaceAll((id, since) -> answering.get(id) ? 0 : since < 0 ? -1 : since + millis);
    }

    @Override
    public List<MemberStatus> members() {
      List<MemberStatus> out = new ArrayList<>();
      out.add(new MemberStatus("b1", "h:1", leader ? "LEADER" : "FOLLOWER", true, -1));
      for (String id : List.of("b2", "b3")) {
        out.add(new MemberStatus(id, "h:1", "FOLLOWER", false, leader ? sinceContact.get(id) : -1));
      }
      return out;
    }

    @Override
    public boolean isLeader() {
      return leader;
    }

    @Override
    public long term() {
      return term;
    }

    @Override
    public CompletableFuture<Void> start() {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<byte[]> propose(byte[] entry) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<Void> ready() {
      throw new UnsupportedOperationException();
    }

    @Override
    public Optional<String> leaderId() {
      return leader ? Optional.of("b1") : Optional.empty();
    }

    @Override
    public void onLeaderChange(Consumer<Optional<String>> listener) {}

    @Override
    public void onFailure(Consumer<Throwable> listener) {}

    @Override
    public void markDamaged(String reason) {}

    @Override
    public long commitIndex() {
      return 0;
    }

    @Override
    public long appliedIndex() {
      return 0;
    }

    @Override
    public CompletableFuture<Void> transferLeadership(String memberId) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<Void> compact() {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<Void> shutdown() {
      throw new UnsupportedOperationException();
    }

    @Override
    public void shutdownNow() {}
  }

  /** Commits at once, in the engine's current term. */
  private CompletableFuture<CommandResult> commitAtOnce(RegistryCommand command) {
    proposed.add(command);
    return CompletableFuture.completedFuture(sm.applyAll(engine.term, List.of(command)).get(0));
  }

  /** Reads the state machine. */
  private final class FakeRegistry implements Registry {

    @Override
    public List<AgentInfo> agents() {
      return sm.state().agents();
    }

    @Override
    public ClusterState state() {
      return sm.state();
    }

    @Override
    public CompletableFuture<Long> register(ServiceInstance instance) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<Long> deregister(String service, String instanceId) {
      throw new UnsupportedOperationException();
    }

    @Override
    public List<ServiceInstance> instances(String service) {
      return sm.state().instances(service);
    }

    @Override
    public SortedSet<String> services() {
      return sm.state().services();
    }

    @Override
    public long revision() {
      return sm.state().revision();
    }

    @Override
    public long checksum() {
      return sm.state().checksum();
    }

    @Override
    public AutoCloseable subscribe(Consumer<RegistryEvent> listener) {
      throw new UnsupportedOperationException();
    }
  }
}
