package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every broker stopped at once while writes are in flight, then all started again, many times over.
 * A member that was leader before the stop may hold entries it wrote itself and never committed;
 * after the restart it must apply only what the new leader committed. (Seen on a follower that
 * applied its own uncommitted tail: its registry had a revision the others never had, and its
 * applying then stalled, so it never became ready.)
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 170, unit = TimeUnit.SECONDS)
class RaftRestartCommitTest {
  private static final int ROUNDS = 12;

  @TempDir Path dir;

  private static void awaitFor(Duration d) {
    long until = System.nanoTime() + d.toNanos();
    await().atMost(d.plusSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> System.nanoTime() >= until);
  }

  private static void awaitReady(TestCluster cluster, int round, String who) throws Exception {
    CompletableFuture<?> ready = CompletableFuture.allOf(cluster.running().stream().map(Node::ready).toArray(CompletableFuture[]::new));
    try {
      ready.get(30, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("round " + round + ": not every member ready within 30 s after restarting " + who + ": "
          + cluster.running().stream().map(n -> n.id() + " " + n.metrics() + " " + n.registry().state().allInstances().stream()
              .map(ServiceInstance::id).filter(id -> !id.startsWith("won-") && !id.startsWith("after-")).sorted().toList()).toList());
    }
  }

  @Test
  void allStoppedMidWrite_restartedTogether_everyMemberReady_replicasSame() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3).start()) {
      for (int round = 0; round < ROUNDS; round++) {
        cluster.leader(); // waits for one
        int leader = cluster.leaderIndex().orElseThrow();
        List<Integer> followers = List.of((leader + 1) % 3, (leader + 2) % 3);
        followers.forEach(cluster::kill);
        // the leader, alone, appends writes it can no longer commit; then it stops too
        List<CompletableFuture<?>> stranded = new ArrayList<>();
        for (int k = 0; k < 20; k++) {
          stranded.add(cluster.node(leader).registry().register(ServiceInstance.builder("pay").id("lost-" + round + "-" + k)
              .endpoint("10.0.0.1", 1000 + k).build()));
        }
        awaitFor(Duration.ofMillis(200 + 100 * (round % 3)));
        cluster.kill(leader);
        stranded.forEach(f -> f.exceptionally(e -> null));
        // the others elect a leader of a later term and commit other entries at those indexes
        followers.forEach(cluster::start);
        awaitReady(cluster, round, "the two members stopped first");
        for (int k = 0; k < 25; k++) {
          cluster.node(followers.get(k % 2)).registry().register(ServiceInstance.builder("pay").id("won-" + round + "-" + k)
              .endpoint("10.0.0.3", 1000 + k).build()).get(20, TimeUnit.SECONDS);
        }
        // the old leader comes back holding its uncommitted tail, and proposes at once
        cluster.start(leader);
        awaitReady(cluster, round, "the old leader");
        for (int i = 0; i < 3; i++) { // a write through each member: followers learn its commit from the leader's reply
          cluster.node(i).registry().register(ServiceInstance.builder("pay").id("after-" + round + "-" + i).endpoint("10.0.0.2", 1000 + i).build())
              .get(20, TimeUnit.SECONDS);
        }
        cluster.ensureSame();
        assertThat(cluster.running()).allSatisfy(n -> assertThat(n.metrics().consistencyMismatches()).isZero());
      }
    }
  }
}
