package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Agent;
import io.linkbridge.AgentStatus;
import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * 50 leadership changes under three live agents, one on each pair of brokers: nobody is removed. A
 * new leader has not heard from its followers in its own term yet; that is not a silence of "forever".
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LeadershipChangeTest {
  static final int CHANGES = 50;

  @TempDir Path dir;
  private TestCluster cluster;
  private final List<Agent> agents = new ArrayList<>();

  @AfterEach
  void stop() {
    agents.forEach(Agent::close);
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void fiftyLeadershipChanges_noLiveAgentRemoved() throws Exception {
    cluster = TestCluster.serving(dir, 3, b -> b.electionTimeout(Duration.ofMillis(500)).heartbeatInterval(Duration.ofMillis(100))
        .agentTimeout(Duration.ofMillis(300))).start();
    List<Node> brokers = cluster.running();
    for (int k = 0; k < 3; k++) { // agent k holds brokers k and k+1
      agents.add(LinkBridge.agent().id("agent-" + k).brokers(cluster.api(k), cluster.api((k + 1) % 3), cluster.api((k + 2) % 3))
          .register(ServiceInstance.builder("orders").id("orders-" + k).endpoint("10.0.0." + k, 7000).build()).start());
    }
    await().atMost(Duration.ofSeconds(15)).until(() -> brokers.stream().allMatch(b -> b.registry().instances("orders").size() == 3
        && b.registry().agents().stream().allMatch(a -> a.brokers().size() == 2)));
    RemovalLog log = new RemovalLog(brokers);

    for (int change = 0; change < CHANGES; change++) {
      int leader = await().atMost(Duration.ofSeconds(10)).until(cluster::leaderIndex, i -> i.isPresent()).orElseThrow();
      int next = (leader + 1) % 3;
      long termBefore = ((DefaultNode) cluster.node(leader)).consensus().term();
      ((DefaultNode) cluster.node(next)).consensus().transferLeadership(cluster.peers().get(next).id()).get(10, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(10)).until(() -> cluster.node(next).isLeader()
          && ((DefaultNode) cluster.node(next)).consensus().term() > termBefore);
      // the new leader checks its followers every heartbeat; give it longer than the agent timeout to get it wrong
      await().during(Duration.ofMillis(400)).atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(log.removals).isEmpty());
    }

    assertThat(log.removals).isEmpty();
    assertThat(brokers).allSatisfy(b -> {
      assertThat(b.registry().instances("orders")).hasSize(3);
      assertThat(b.registry().agents()).allSatisfy(a -> assertThat(a.status()).isEqualTo(AgentStatus.ALIVE));
    });
  }
}
