package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Agent;
import io.linkbridge.AgentStatus;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A write of a live agent that cannot be committed (no quorum) fails for the agent to retry; its
 * stream and its session stay, so when the quorum is back the agent was never removed and its retry
 * goes through.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UncommittedAgentWriteTest {
  @TempDir Path dir;
  private TestCluster cluster;
  private Agent agent;

  @AfterEach
  void stop() {
    if (agent != null) {
      agent.close();
    }
    cluster.close();
  }

  private static ServiceInstance orders(String id) {
    return ServiceInstance.builder("orders").id(id).endpoint("10.0.0.1", 7000).build();
  }

  @Test
  void writeWithoutQuorum_failsForTheAgentToRetry_streamKept_agentNeverRemoved() {
    cluster = TestCluster.serving(dir, 3, b -> b.electionTimeout(Duration.ofMillis(500)).heartbeatInterval(Duration.ofMillis(100))
        .agentTimeout(Duration.ofMillis(500)).writeTimeout(Duration.ofSeconds(1))).start();
    Node broker = cluster.node(0);
    agent = LinkBridge.agent().id("agent-a").brokers(cluster.api(0)).connectTimeout(Duration.ofSeconds(3)).register(orders("orders-1")).start();
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.running().stream().allMatch(b -> b.registry().instances("orders").size() == 1));
    RemovalLog log = new RemovalLog(List.of(broker));

    cluster.node(1).shutdownNow();
    cluster.node(2).shutdownNow(); // broker 0 alone: nothing commits
    assertThatThrownBy(() -> agent.register(orders("orders-2"))).isInstanceOf(LinkBridgeException.class).hasMessageContaining("not committed");
    assertThat(agent.connectedBrokers()).containsExactly(cluster.api(0)); // the stream stays

    cluster.start(1);
    cluster.start(2);
    cluster.awaitReady();
    await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
      agent.register(orders("orders-2")); // the agent's retry
      return true;
    });
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.running().stream().allMatch(b -> b.registry().instances("orders").size() == 2));
    assertThat(log.removals).isEmpty();
    assertThat(broker.registry().state().agent("agent-a").orElseThrow().status()).isEqualTo(AgentStatus.ALIVE);
  }
}
