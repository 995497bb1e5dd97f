package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.raft.internal.AtomixRaftEngines;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Atomix 3.1.12 never fsyncs its log on commit; the adapter does. Every acknowledged write must
 * have forced the log on the leader and on at least one follower (a majority of three).
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DurabilityTest {
  @TempDir Path dir;

  private static long forces(Node n) {
    return AtomixRaftEngines.forceCount(((DefaultNode) n).consensus());
  }

  @Test
  void everySequentialAcknowledgedWrite_forcedOnLeaderAndOnAFollower() {
    try (TestCluster cluster = new TestCluster(dir, 3).start()) {
      int leader = cluster.leaderIndex().orElseThrow();
      Node l = cluster.node(leader);
      Node f1 = cluster.node((leader + 1) % 3);
      Node f2 = cluster.node((leader + 2) % 3);
      int writes = 50;
      for (int i = 0; i < writes; i++) {
        long leaderBefore = forces(l);
        long followersBefore = forces(f1) + forces(f2);
        l.registry().register(ServiceInstance.builder("pay").id("p-" + i).endpoint("10.1.0.1", 443).build()).join();
        assertThat(forces(l)).as("leader forces for write %d", i).isGreaterThan(leaderBefore);
        assertThat(forces(f1) + forces(f2)).as("follower forces for write %d", i).isGreaterThan(followersBefore);
      }
    }
  }

  @Test
  void singleBrokerCluster_forcesBeforeAcknowledging() {
    try (TestCluster cluster = new TestCluster(dir, 1).start()) {
      Node n = cluster.node(0);
      for (int i = 0; i < 20; i++) {
        long before = forces(n);
        n.registry().register(ServiceInstance.builder("pay").id("p-" + i).endpoint("10.1.0.1", 443).build()).join();
        assertThat(forces(n)).as("forces for write %d", i).isGreaterThan(before);
      }
    }
  }
}
