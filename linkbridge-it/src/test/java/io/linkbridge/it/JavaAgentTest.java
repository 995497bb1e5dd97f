package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.Agent;
import io.linkbridge.InstanceState;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Node;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
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
  private TestCluster cluster;
  private List<Node> brokers;
  private List<String> apiAddresses;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void startCluster() {
    cluster = TestCluster.serving(dir, 3, b -> b).start();
    brokers = cluster.running();
    apiAddresses = List.of(cluster.api(0), cluster.api(1), cluster.api(2));
    for (String api : apiAddresses) {
      channels.add(NettyChannelBuilder.forTarget(api).usePlaintext().build());
    }
  }

  @AfterEach
  void stopCluster() {
    channels.forEach(ManagedChannel::shutdownNow);
    cluster.close();
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
  void shutdown_everyWatcherGetsTheNoticeWithAlternatives_noClientIsGivenItAfterwards_thenTheRemoval() throws Exception {
    List<String> all = apiAddresses;
    try (Agent other = LinkBridge.agent().id("agent-b").brokers(all.get(2)).register(greeter("greeter-2")).start()) {
      Agent leaving = LinkBridge.agent().id("agent-a1").brokers(all.get(0), all.get(1)).register(greeter("greeter-1")).start();
      List<List<WatchEvent>> watchers = List.of(watch(0), watch(1), watch(2));
      await().atMost(Duration.ofSeconds(5)).until(() -> watchers.stream().allMatch(w -> w.size() == 1));
      CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> leaving.shutdown(Duration.ofSeconds(2)));
      await().atMost(Duration.ofSeconds(5)).until(() -> watchers.stream().allMatch(w -> w.size() >= 2));
      // after the notice, within the grace period: still registered (DRAINING), but no client is given it
      for (int i = 0; i < 3; i++) {
        try (LinkBridgeClient client = LinkBridge.client().brokers(all.get(i)).build()) {
          assertThat(brokers.get(i).registry().state().instance("greeter", "greeter-1")).get()
              .satisfies(d -> assertThat(d.state()).isEqualTo(InstanceState.DRAINING));
          assertThat(client.discover("greeter")).extracting(ServiceInstance::id).containsExactly("greeter-2");
          assertThat(client.alternatives("greeter", Set.of())).extracting(ServiceInstance::id).containsExactly("greeter-2");
        }
      }
      shutdown.get(10, TimeUnit.SECONDS);
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

  @Test
  void drainOneInstance_everyWatcherToldWithAlternatives_thenUpAgain_thenDeregistered() {
    try (Agent agent = LinkBridge.agent().id("agent-a1").brokers(apiAddresses.get(0), apiAddresses.get(1))
        .register(greeter("greeter-1")).register(greeter("greeter-2")).start()) {
      List<List<WatchEvent>> watchers = List.of(watch(0), watch(1), watch(2));
      await().atMost(Duration.ofSeconds(5)).until(() -> watchers.stream().allMatch(w -> w.size() == 1));

      agent.drain("greeter", "greeter-1");
      assertThat(brokers.get(0).registry().instances("greeter")).filteredOn(ServiceInstance::takesCalls)
          .extracting(ServiceInstance::id).containsExactly("greeter-2"); // committed when drain returns
      agent.register(greeter("greeter-1"));
      agent.deregister("greeter", "greeter-2");
      assertThat(agent.instances()).extracting(ServiceInstance::id, ServiceInstance::state).containsExactly(tuple("greeter-1", InstanceState.UP));

      await().atMost(Duration.ofSeconds(5)).until(() -> watchers.stream().allMatch(w -> w.size() == 4));
      for (List<WatchEvent> w : watchers) {
        assertThat(w).extracting(WatchEvent::getType).containsExactly(WatchEvent.Type.SNAPSHOT, WatchEvent.Type.SHUTDOWN_NOTICE,
            WatchEvent.Type.UPDATED, WatchEvent.Type.REMOVED);
        assertThat(w.get(1).getInstance().getId()).isEqualTo("greeter-1");
        assertThat(w.get(1).getAlternativesList()).extracting(Instance::getId).containsExactly("greeter-2");
        assertThat(w.get(3).getInstance().getId()).isEqualTo("greeter-2");
      }
    }
  }

  @Test
  void afterABrokerLoss_theAgentRegistersWhatItRunsNow_notWhatItStartedWith() {
    try (Agent agent = LinkBridge.agent().id("agent-a1").brokers(apiAddresses.toArray(String[]::new))
        .register(greeter("greeter-1")).register(greeter("greeter-2")).start()) {
      agent.drain("greeter", "greeter-1");
      agent.deregister("greeter", "greeter-2");
      agent.register(greeter("greeter-3"));
      brokers.get(0).shutdownNow();
      await().atMost(Duration.ofSeconds(15)).until(() -> agent.connectedBrokers().contains(apiAddresses.get(2)));
      await().atMost(Duration.ofSeconds(5)).until(() -> brokers.get(2).registry().state().agent("agent-a1").orElseThrow().brokers().contains("broker-3"));
      for (Node b : List.of(brokers.get(1), brokers.get(2))) {
        assertThat(b.registry().instances("greeter")).extracting(ServiceInstance::id, ServiceInstance::state)
            .containsExactly(tuple("greeter-1", InstanceState.DRAINING), tuple("greeter-3", InstanceState.UP));
      }
    }
  }

  @Test
  void registerAnInstanceOwnedByAnotherAgent_refusedNamingTheOwner_agentUnchangedAndStillWorking() {
    try (Agent first = LinkBridge.agent().id("agent-a1").brokers(apiAddresses.get(0)).register(greeter("greeter-1")).start();
        Agent second = LinkBridge.agent().id("agent-a2").brokers(apiAddresses.get(1), apiAddresses.get(2)).register(greeter("greeter-2")).start()) {
      assertThatThrownBy(() -> second.register(greeter("greeter-1")))
          .isInstanceOfSatisfying(RegistrationRejectedException.class, e -> assertThat(e.reason()).isEqualTo(RegistrationRejectedException.Reason.ALREADY_OWNED))
          .hasMessageContaining("agent 'agent-a1'");
      assertThat(second.instances()).extracting(ServiceInstance::id).containsExactly("greeter-2");
      assertThatThrownBy(() -> second.deregister("greeter", "greeter-1"))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("greeter/greeter-1").hasMessageContaining("[greeter/greeter-2]");
      // the brokers ended the streams that carried the refused registration; the agent reconnects with what it runs
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> second.register(greeter("greeter-3")));
      // committed through one of the agent's brokers; broker 1 applies it a moment later
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(brokers.get(0).registry().instances("greeter"))
          .extracting(ServiceInstance::id, ServiceInstance::agentId)
          .containsExactly(tuple("greeter-1", "agent-a1"), tuple("greeter-2", "agent-a2"), tuple("greeter-3", "agent-a2")));
      assertThat(first.connectedBrokers()).hasSize(1);
    }
  }

  private List<WatchEvent> watch(int broker) {
    return Watches.collect(channels.get(broker), "greeter");
  }
}
