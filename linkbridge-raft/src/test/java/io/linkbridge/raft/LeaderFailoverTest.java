package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LeaderFailoverTest {
  @TempDir Path dir;

  @Test
  void leaderStoppedAbruptlyUnderWrites_newLeaderElected_everyAcknowledgedWriteOnBothSurvivors() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3).start()) {
      int leader = cluster.leaderIndex().orElseThrow();
      List<Node> survivors = cluster.running().stream().filter(n -> n != cluster.node(leader)).toList();
      Set<String> acknowledged = ConcurrentHashMap.newKeySet();
      AtomicBoolean writing = new AtomicBoolean(true);
      AtomicInteger sequence = new AtomicInteger();
      Thread[] writers = new Thread[8];
      for (int w = 0; w < writers.length; w++) {
        // Writers go through all three brokers, the doomed leader included.
        Node via = cluster.node(w % 3);
        writers[w] = new Thread(() -> {
          while (writing.get()) {
            String id = "i-" + sequence.incrementAndGet();
            try {
              via.registry().register(instance(id)).get(15, TimeUnit.SECONDS);
              acknowledged.add(id);
            } catch (Exception e) {
              // not acknowledged: may or may not be present, and that is allowed
            }
          }
        });
        writers[w].start();
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> acknowledged.size() >= 300);

      cluster.node(leader).shutdownNow();
      int before = acknowledged.size();
      await().atMost(Duration.ofSeconds(20)).until(() -> survivors.stream().anyMatch(Node::isLeader));
      await().atMost(Duration.ofSeconds(20)).until(() -> acknowledged.size() >= before + 300);
      writing.set(false);
      for (Thread t : writers) {
        t.join(20_000);
      }

      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        for (Node n : survivors) {
          Set<String> present = ConcurrentHashMap.newKeySet();
          n.registry().instances("orders").forEach(i -> present.add(i.id()));
          assertThat(present).containsAll(acknowledged);
        }
        assertThat(survivors.get(0).registry().checksum()).isEqualTo(survivors.get(1).registry().checksum());
      });
    }
  }

  static ServiceInstance instance(String id) {
    return ServiceInstance.builder("orders").id(id).endpoint("10.0.0.2", 8080).build();
  }
}
