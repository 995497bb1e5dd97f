package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class GracefulShutdownTest {
  @TempDir Path dir;

  @Test
  void leaderShutdown_handsOverLeadership_withoutWaitingAnElectionTimeout() throws Exception {
    // An election timeout of 4s: without a hand-over the survivors would need at least that long.
    try (TestCluster cluster = new TestCluster(dir, 3, b -> b.electionTimeout(Duration.ofSeconds(4))).start()) {
      int leader = cluster.leaderIndex().orElseThrow();
      Node old = cluster.node(leader);
      old.registry().register(ServiceInstance.builder("s").id("before").endpoint("h", 1).build()).get(10, TimeUnit.SECONDS);
      long start = System.nanoTime();
      old.shutdown();
      assertThat(old.awaitTermination(Duration.ofSeconds(20))).isTrue();
      await().atMost(Duration.ofSeconds(3)).until(() -> cluster.leaderIndex().filter(i -> i != leader).isPresent());
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
      Node survivor = cluster.node(cluster.leaderIndex().orElseThrow());
      survivor.registry().register(ServiceInstance.builder("s").id("after").endpoint("h", 1).build()).get(10, TimeUnit.SECONDS);
      assertThat(survivor.registry().instances("s")).extracting(ServiceInstance::id).containsExactly("after", "before");
    }
  }
}
