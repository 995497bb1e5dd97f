package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Agent;
import io.linkbridge.AgentStatus;
import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A crashed broker must not keep its agents alive: the leader detaches them after the agent timeout. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CrashedBrokerCleanupTest {
  @TempDir Path dir;

  @Test
  void brokerCrashes_agentsOnlyItHeldBecomeDead_agentsHeldElsewhereStay() throws Exception {
    List<Peer> peers = new ArrayList<>();
    List<String> api = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      peers.add(Peer.of("broker-" + i, "127.0.0.1:" + FreePorts.next()));
      api.add("127.0.0.1:" + FreePorts.next());
    }
    List<Node> brokers = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        Node n = LinkBridge.node().id(peers.get(i).id()).raftAddress(peers.get(i).raftAddress().toString()).address(api.get(i))
            .dataDir(dir.resolve(peers.get(i).id())).join(peers).electionTimeout(Duration.ofMillis(500)).heartbeatInterval(Duration.ofMillis(100))
            .agentTimeout(Duration.ofMillis(300)).start();
        NodeLeakCheck.track(n);
        brokers.add(n);
      }
      for (Node n : brokers) {
        n.ready().get(60, TimeUnit.SECONDS);
      }
      // The doomed broker must not be the leader: the leader is who cleans up.
      int doomed = brokers.get(2).isLeader() ? 1 : 2;
      int other = doomed == 2 ? 0 : 2;
      try (Agent single = LinkBridge.agent().id("single").brokers(api.get(doomed))
              .register(ServiceInstance.builder("svc").id("s1").endpoint("h", 1).build()).start();
          Agent dual = LinkBridge.agent().id("dual").brokers(api.get(doomed), api.get(other))
              .register(ServiceInstance.builder("svc").id("d1").endpoint("h", 2).build()).start()) {
        Node survivor = brokers.get(other);
        await().atMost(Duration.ofSeconds(5)).until(() -> survivor.registry().instances("svc").size() == 2);
        assertThat(single.connectedBrokers()).containsExactly(api.get(doomed));
        assertThat(dual.connectedBrokers()).containsExactly(api.get(doomed), api.get(other));

        brokers.get(doomed).shutdownNow(); // its agent streams break; it detaches nobody itself
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
          assertThat(survivor.registry().state().agent("single").orElseThrow().status()).isEqualTo(AgentStatus.DEAD);
          assertThat(survivor.registry().instances("svc")).extracting(ServiceInstance::id).containsExactly("d1");
          assertThat(survivor.registry().state().agent("dual").orElseThrow().brokers()).containsExactly(peers.get(other).id());
        });
      }
    } finally {
      brokers.forEach(Node::shutdownNow);
    }
  }
}
