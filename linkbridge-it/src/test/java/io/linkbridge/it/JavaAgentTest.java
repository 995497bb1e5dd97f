package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.Agent;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Node;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The Java agent against three real brokers. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JavaAgentTest {
  @TempDir Path dir;
  private final List<Node> brokers = new ArrayList<>();
  private final List<String> apiAddresses = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void startCluster() throws Exception {
    List<Peer> peers = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      peers.add(Peer.of("broker-" + i, "127.0.0.1:" + FreePorts.next()));
      apiAddresses.add("127.0.0.1:" + FreePorts.next());
    }
    for (int i = 0; i < 3; i++) {
      Node n = LinkBridge.node().id(peers.get(i).id()).raftAddress(peers.get(i).raftAddress().toString()).address(apiAddresses.get(i))
          .dataDir(dir.resolve(peers.get(i).id())).join(peers).electionTimeout(Duration.ofMillis(500)).heartbeatInterval(Duration.ofMillis(100)).start();
      NodeLeakCheck.track(n);
      brokers.add(n);
      String[] hp = apiAddresses.get(i).split(":");
      channels.add(NettyChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().build());
    }
    for (Node n : brokers) {
      n.ready().get(60, TimeUnit.SECONDS);
    }
  }

  @AfterEach
  void stopCluster() {
    channels.forEach(ManagedChannel::shutdownNow);
    brokers.forEach(Node::shutdownNow);
  }

  private static ServiceInstance greeter(String id) {
    return ServiceInstance.builder("greeter").id(id).endpoint("127.0.0.1", 9000).grpcService("helloworld.Greeter").build();
  }

  @Test
  void start_registersThroughTwoBrokers_committedBeforeItReturns() {
    try (Agent agent = LinkBridge.agent().id("agent-a1").brokers(apiAddresses.toArray(String[]::new)).register(greeter("greeter-1")).start()) {
      assertThat(agent.connectedBrokers()).containsExactly(apiAddresses.get(0), apiAddresses.get(1));
      assertThat(brokers.get(0).registry().instances("greeter")).singleElement()
          .satisfies(i -> assertThat(i.agentId()).isEqualTo("agent-a1"));
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(brokers).allSatisfy(b ->
          assertThat(b.registry().state().agent("agent-a1").orElseThrow().brokers()).containsExactlyInAnyOrder("broker-1", "broker-2")));
    }
  }

  @Test
  void brokerLost_agentMovesToTheNextBroker_noDuplicate_instanceNeverLeaves() {
    try (Agent agent = LinkBridge.agent().id("agent-a1").brokers(apiAddresses.toArray(String[]::new)).register(greeter("greeter-1")).start()) {
      List<WatchEvent> events = watch(2);
      await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 1);
      brokers.get(0).shutdownNow();
      await().atMost(Duration.ofSeconds(15)).until(() -> agent.connectedBrokers().contains(apiAddresses.get(2)));
      assertThat(agent.connectedBrokers()).containsExactlyInAnyOrder(apiAddresses.get(1), apiAddresses.get(2));
      await().atMost(Duration.ofSeconds(5)).until(() -> brokers.get(2).registry().state().agent("agent-a1").orElseThrow().brokers().contains("broker-3"));
      assertThat(brokers.get(2).registry().instances("greeter")).hasSize(1);
      assertThat(events).extracting(WatchEvent::getType).doesNotContain(WatchEvent.Type.REMOVED, WatchEvent.Type.ADDED);
    }
  }

  @Test
  void shutdown_everyWatcherGetsTheNoticeWithAlternatives_thenTheRemoval() {
    List<String> all = apiAddresses;
    try (Agent other = LinkBridge.agent().id("agent-b").brokers(all.get(2)).register(greeter("greeter-2")).start()) {
      Agent leaving = LinkBridge.agent().id("agent-a1").brokers(all.get(0), all.get(1)).register(greeter("greeter-1")).start();
      List<List<WatchEvent>> watchers = List.of(watch(0), watch(1), watch(2));
      await().atMost(Duration.ofSeconds(5)).until(() -> watchers.stream().allMatch(w -> w.size() == 1));
      leaving.shutdown(Duration.ofMillis(300));
      await().atMost(Duration.ofSeconds(10)).until(() -> watchers.stream().allMatch(w -> w.size() >= 3));
      for (List<WatchEvent> w : watchers) {
        WatchEvent notice = w.get(1);
        assertThat(notice.getType()).isEqualTo(WatchEvent.Type.SHUTDOWN_NOTICE);
        assertThat(notice.getInstance().getId()).isEqualTo("greeter-1");
        assertThat(notice.getAlternativesList()).extracting(Instance::getId).containsExactly("greeter-2");
        assertThat(w.get(2).getType()).isEqualTo(WatchEvent.Type.REMOVED);
        assertThat(w.get(2).getRevision()).isGreaterThan(notice.getRevision());
      }
      assertThat(other.connectedBrokers()).containsExactly(all.get(2));
    }
  }

  @Test
  void instanceIdOwnedByAnotherAgent_startFailsNamingTheOwner() {
    try (Agent first = LinkBridge.agent().id("agent-a1").brokers(apiAddresses.get(0)).register(greeter("greeter-1")).start()) {
      assertThatThrownBy(() -> LinkBridge.agent().id("agent-a2").brokers(apiAddresses.get(1)).register(greeter("greeter-1")).start())
          .isInstanceOf(LinkBridgeException.class).hasMessageContaining("ALREADY_EXISTS").hasMessageContaining("agent 'agent-a1'");
      assertThat(first.connectedBrokers()).hasSize(1);
      // the refused agent leaves nothing running behind: no reconnect thread keeps trying
      await().atMost(Duration.ofSeconds(5)).until(() -> Thread.getAllStackTraces().keySet().stream()
          .noneMatch(t -> t.isAlive() && t.getName().equals("linkbridge-agent-agent-a2")));
    }
  }

  private List<WatchEvent> watch(int broker) {
    return Watches.collect(channels.get(broker), "greeter");
  }
}
