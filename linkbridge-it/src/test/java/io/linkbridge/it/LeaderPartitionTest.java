package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Agent;
import io.linkbridge.LinkBridge;
import io.linkbridge.NoQuorumException;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leader cut off from the other two for 4 s (its Raft network only; every process runs on), then
 * healed, under writers on every broker and live agents: no acknowledged write is lost, the replicas
 * end equal, writes on the cut-off side fail with NoQuorumException within writeTimeout, and no live
 * agent is removed (the old leader hears no majority and judges nobody).
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LeaderPartitionTest {
  static final Duration WRITE_TIMEOUT = Duration.ofSeconds(2);

  @TempDir Path dir;
  private TestCluster cluster;
  private final List<Agent> agents = new ArrayList<>();

  @AfterEach
  void stop() {
    agents.forEach(Agent::close);
    cluster.close();
  }

  private void agent(String id, int... on) {
    String[] list = IntStream.of(on).mapToObj(cluster::api).toArray(String[]::new);
    agents.add(LinkBridge.agent().id(id).brokers(list).register(ServiceInstance.builder("orders").id(id).endpoint("10.0.0.1", 7000).build()).start());
  }

  @Test
  void leaderCutOffThenHealed_nothingAcknowledgedLost_replicasEqual_minorityFailsFast_noLiveAgentRemoved() {
    cluster = TestCluster.serving(dir, 3, b -> b.electionTimeout(Duration.ofMillis(500)).heartbeatInterval(Duration.ofMillis(100))
        .agentTimeout(Duration.ofSeconds(1)).writeTimeout(WRITE_TIMEOUT)).start(); // well below the 4 s cut, above a loaded host's hiccups
    int leader = cluster.leaderIndex().orElseThrow();
    int f1 = (leader + 1) % 3;
    int f2 = (leader + 2) % 3;
    agent("on-f1", f1);
    agent("on-f2", f2);
    agent("on-leader-and-f1", leader, f1);
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.running().stream().allMatch(n -> n.registry().instances("orders").size() == 3));
    RemovalLog removals = new RemovalLog(cluster.running());

    Set<String> acked = ConcurrentHashMap.newKeySet();
    List<String> slowFailures = new CopyOnWriteArrayList<>();
    List<Throwable> minorityFailures = new CopyOnWriteArrayList<>();
    AtomicBoolean partitioned = new AtomicBoolean();
    AtomicBoolean writing = new AtomicBoolean(true);
    List<Thread> writers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Node via = cluster.node(i);
      boolean minority = i == leader;
      Thread t = new Thread(() -> {
        for (int n = 0; writing.get(); n++) {
          String id = via.id() + "-" + n;
          long start = System.nanoTime();
          try {
            via.registry().register(ServiceInstance.builder("writes").id(id).endpoint("10.0.0.9", 9000).build()).join();
            acked.add(id);
          } catch (CompletionException e) {
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            if (took > WRITE_TIMEOUT.toMillis() + 1000) {
              slowFailures.add(id + " failed after " + took + " ms: " + e.getCause());
            }
            if (minority && partitioned.get()) {
              minorityFailures.add(e.getCause());
            }
          }
        }
      }, "writer-" + via.id());
      t.start();
      writers.add(t);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> acked.size() >= 30);

    cluster.partition(leader);
    partitioned.set(true);
    long healAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
    await().atMost(Duration.ofSeconds(10)).until(() -> System.nanoTime() >= healAt);
    int ackedDuringPartition = acked.size();
    cluster.heal();
    partitioned.set(false);
    await().atMost(Duration.ofSeconds(10)).until(() -> acked.size() > ackedDuringPartition + 30);
    writing.set(false);
    writers.forEach(t -> {
      try {
        t.join(TimeUnit.SECONDS.toMillis(WRITE_TIMEOUT.toSeconds() + 5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });

    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      assertThat(cluster.running()).extracting(n -> n.registry().checksum()).containsOnly(cluster.node(f1).registry().checksum());
      for (Node n : cluster.running()) {
        Set<String> present = ConcurrentHashMap.newKeySet();
        n.registry().instances("writes").forEach(i -> present.add(i.id()));
        assertThat(present).as("acknowledged writes on %s", n.id()).containsAll(acked);
      }
    });
    assertThat(minorityFailures).isNotEmpty().allSatisfy(e -> assertThat(e).isInstanceOf(NoQuorumException.class));
    assertThat(slowFailures).isEmpty();
    assertThat(removals.removals).isEmpty();
  }
}
