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

/** The test kit's in-JVM faults do what they say: a held leader is replaced and rejoins, a slow network still commits. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TransportFaultSeamTest {
  @TempDir Path dir;

  private static ServiceInstance instance(String id) {
    return ServiceInstance.builder("pay").id(id).endpoint("10.0.0.1", 443).build();
  }

  @Test
  void leaderPaused_theOthersElectAnother_andAfterTheHealItRejoinsWithTheSameState() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3).start()) {
      int old = cluster.leaderIndex().orElseThrow();
      Node other = cluster.node((old + 1) % 3);
      cluster.pause(old);
      await().atMost(Duration.ofSeconds(20)).until(() -> other.leaderId().filter(id -> !id.equals(cluster.node(old).id())).isPresent());
      other.registry().register(instance("while-paused")).get(20, TimeUnit.SECONDS);
      cluster.heal();
      cluster.ensureSame();
      assertThat(cluster.node(old).registry().instances("pay")).extracting(ServiceInstance::id).containsExactly("while-paused");
      assertThat(cluster.node(old).isLeader()).isFalse();
    }
  }

  @Test
  void everyMessageDelayed_writesStillCommit_slower() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3, b -> b.electionTimeout(Duration.ofSeconds(2))).start()) {
      Node leader = cluster.leader();
      cluster.delay(Duration.ofMillis(100));
      long start = System.nanoTime();
      leader.registry().register(instance("slow")).get(20, TimeUnit.SECONDS);
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(100)); // a round trip at least
      cluster.heal();
      cluster.ensureSame();
    }
  }
}
