package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Agent;
import io.linkbridge.AgentStatus;
import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A crashed broker must not keep its agents alive: the leader detaches them after the agent timeout. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(120)
class CrashedBrokerCleanupTest {
  @TempDir Path dir;

  @Test
  void brokerCrashes_agentsOnlyItHeldBecomeDead_agentsHeldElsewhereStay() throws Exception {
    try (TestCluster cluster = TestCluster.serving(dir, 3, b -> b.agentTimeout(Duration.ofMillis(300))).start()) {
      // The doomed broker must not be the leader: the leader is who cleans up.
      int doomed = cluster.node(2).isLeader() ? 1 : 2;
      int other = doomed == 2 ? 0 : 2;
      try (Agent single = LinkBridge.agent().id("single").brokers(cluster.api(doomed))
              .register(ServiceInstance.builder("svc").id("s1").endpoint("h", 1).build()).start();
          Agent dual = LinkBridge.agent().id("dual").brokers(cluster.api(doomed), cluster.api(other))
              .register(ServiceInstance.builder("svc").id("d1").endpoint("h", 2).build()).start()) {
        Node survivor = cluster.node(other);
        await().atMost(Duration.ofSeconds(5)).until(() -> survivor.registry().instances("svc").size() == 2);
        assertThat(single.connectedBrokers()).containsExactly(cluster.api(doomed));
        assertThat(dual.connectedBrokers()).containsExactly(cluster.api(doomed), cluster.api(other));

        cluster.node(doomed).shutdownNow(); // its agent streams break; it detaches nobody itself
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
          assertThat(survivor.registry().state().agent("single").orElseThrow().status()).isEqualTo(AgentStatus.DEAD);
          assertThat(survivor.registry().instances("svc")).extracting(ServiceInstance::id).containsExactly("d1");
          assertThat(survivor.registry().state().agent("dual").orElseThrow().brokers()).containsExactly(cluster.peers().get(other).id());
        });
      }
    }
  }
}
