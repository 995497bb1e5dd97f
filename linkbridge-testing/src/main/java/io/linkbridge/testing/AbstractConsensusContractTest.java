package io.linkbridge.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Peer;
import io.linkbridge.spi.ConsensusConfig;
import io.linkbridge.spi.ConsensusEngine;
import io.linkbridge.spi.ConsensusProvider;
import io.linkbridge.spi.MemberStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract every {@link ConsensusProvider} must meet, written once against the SPI. An engine
 * module extends this class and returns its provider; three members run on loopback.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class AbstractConsensusContractTest {
  @TempDir Path dir;
  private final List<Peer> peers = new ArrayList<>();
  private final ConsensusEngine[] engines = new ConsensusEngine[3];
  private final RecordingStateMachine[] machines = new RecordingStateMachine[3];

  /** The provider under test. */
  protected abstract ConsensusProvider provider();

  @BeforeEach
  void startThree() {
    for (int i = 0; i < 3; i++) {
      peers.add(Peer.of("m" + (i + 1), "127.0.0.1:" + FreePorts.next()));
    }
    for (int i = 0; i < 3; i++) {
      start(i);
    }
    CompletableFuture.allOf(engines[0].ready(), engines[1].ready(), engines[2].ready()).orTimeout(60, TimeUnit.SECONDS).join();
  }

  private void start(int i) {
    Peer p = peers.get(i);
    machines[i] = new RecordingStateMachine();
    ConsensusConfig config = new ConsensusConfig(p.id(), p.raftAddress(), peers, "contract", dir.resolve(p.id()), Duration.ofMillis(500),
        Duration.ofMillis(100), Duration.ofSeconds(1), 64 * 1024, 1024 * 1024, false);
    engines[i] = provider().create(config, machines[i]);
    engines[i].start().join();
  }

  @AfterEach
  void stopAll() {
    for (ConsensusEngine e : engines) {
      if (e != null) {
        e.shutdownNow();
      }
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void exactlyOneLeader_knownToEveryMember() {
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(List.of(engines)).filteredOn(ConsensusEngine::isLeader).hasSize(1);
      String leader = List.of(engines).stream().filter(ConsensusEngine::isLeader).findFirst().orElseThrow().members().stream()
          .filter(MemberStatus::local).findFirst().orElseThrow().id();
      assertThat(List.of(engines)).extracting(ConsensusEngine::leaderId).containsOnly(Optional.of(leader));
    });
  }

  @Test
  void proposalsFromEveryMember_appliedInOneOrderEverywhere_resultReturnedToTheProposer() {
    List<CompletableFuture<byte[]>> results = new ArrayList<>();
    for (int i = 0; i < 90; i++) {
      results.add(engines[i % 3].propose(bytes("e" + i)));
    }
    CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).orTimeout(30, TimeUnit.SECONDS).join();
    assertThat(results).extracting(f -> Integer.parseInt(new String(f.join(), StandardCharsets.UTF_8))).doesNotHaveDuplicates();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertThat(machines[0].entries).hasSize(90);
      assertThat(machines[1].entries).isEqualTo(machines[0].entries);
      assertThat(machines[2].entries).isEqualTo(machines[0].entries);
    });
  }

  @Test
  void proposal_isAppliedOnTheProposerBeforeItsFutureCompletes() {
    for (int i = 0; i < 20; i++) {
      int member = i % 3;
      engines[member].propose(bytes("x" + i)).join();
      assertThat(machines[member].entries).contains("x" + i);
    }
  }

  @Test
  void leaderStopped_newLeaderElected_proposalsContinue() {
    int leader = await().atMost(Duration.ofSeconds(20)).until(this::leaderIndex, i -> i >= 0);
    engines[leader].propose(bytes("before")).join();
    engines[leader].shutdownNow();
    int survivor = (leader + 1) % 3;
    await().atMost(Duration.ofSeconds(20)).until(() -> leaderIndex() >= 0 && leaderIndex() != leader);
    engines[survivor].propose(bytes("after")).orTimeout(20, TimeUnit.SECONDS).join();
    assertThat(machines[survivor].entries).containsSubsequence("before", "after");
  }

  @Test
  void apply_isGivenTheEntrysTerm_sameOnEveryMember_higherAfterALeaderChange() {
    int leader = await().atMost(Duration.ofSeconds(20)).until(this::leaderIndex, i -> i >= 0);
    long firstTerm = engines[leader].term();
    engines[(leader + 1) % 3].propose(bytes("t1")).orTimeout(20, TimeUnit.SECONDS).join();
    engines[leader].shutdownNow();
    int survivor = (leader + 1) % 3;
    int other = (leader + 2) % 3;
    await().atMost(Duration.ofSeconds(20)).until(() -> leaderIndex() >= 0 && leaderIndex() != leader);
    engines[survivor].propose(bytes("t2")).orTimeout(20, TimeUnit.SECONDS).join();
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(machines[other].termed).isEqualTo(machines[survivor].termed));
    assertThat(firstTerm).isPositive();
    assertThat(machines[survivor].termed).containsExactly(firstTerm + ":t1", engines[survivor].term() + ":t2");
    assertThat(engines[survivor].term()).isGreaterThan(firstTerm);
  }

  @Test
  void compactThenRestart_memberRestoresAndCatchesUp() {
    for (int i = 0; i < 50; i++) {
      engines[i % 3].propose(bytes("c" + i)).join();
    }
    CompletableFuture.allOf(engines[0].compact(), engines[1].compact(), engines[2].compact()).orTimeout(60, TimeUnit.SECONDS).join();
    engines[2].shutdownNow();
    engines[0].propose(bytes("while-down")).join();
    start(2);
    engines[2].ready().orTimeout(30, TimeUnit.SECONDS).join();
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(machines[2].entries).isEqualTo(machines[0].entries).contains("while-down"));
  }

  @Test
  void indexes_advanceWithProposals() {
    long before = engines[0].commitIndex();
    engines[0].propose(bytes("i")).join();
    assertThat(engines[0].commitIndex()).isGreaterThan(before);
    assertThat(engines[0].appliedIndex()).isGreaterThanOrEqualTo(engines[0].commitIndex() - 1);
    assertThat(engines[0].members()).extracting(MemberStatus::id).containsExactly("m1", "m2", "m3");
  }

  private int leaderIndex() {
    for (int i = 0; i < 3; i++) {
      if (engines[i].isLeader()) {
        return i;
      }
    }
    return -1;
  }

}
