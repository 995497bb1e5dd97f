package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.linkbridge.FailoverConfig;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.Watch;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The Java client against three real brokers, one of which dies under it. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClientFailoverTest {
  static final FailoverConfig FAILOVER = FailoverConfig.builder().retryInterval(Duration.ofMillis(500)).maxRetries(3)
      .enableAutoFailover(true).continuousRetry(true).build();

  @TempDir Path dir;
  private TestCluster cluster;
  private List<Node> brokers;
  private List<String> api;

  @BeforeEach
  void startCluster() {
    cluster = TestCluster.serving(dir, 3, b -> b).start();
    brokers = cluster.running();
    api = List.of(cluster.api(0), cluster.api(1), cluster.api(2));
  }

  @AfterEach
  void stopCluster() {
    cluster.close();
  }

  private static ServiceInstance order(int i) {
    return ServiceInstance.builder("orders").id("o" + i).endpoint("10.0.0.5", 7000).build();
  }

  @Test
  void discoverAndAlternatives_answeredByTheFirstBroker() {
    brokers.get(1).registry().register(order(1)).join();
    brokers.get(1).registry().register(order(2)).join();
    try (LinkBridgeClient client = LinkBridge.client().brokers(api.toArray(String[]::new)).failover(FAILOVER).build()) {
      await().atMost(Duration.ofSeconds(5)).until(() -> client.discover("orders").size() == 2);
      assertThat(client.alternatives("orders", Set.of("o1"))).extracting(ServiceInstance::id).containsExactly("o2");
      assertThat(client.currentBroker()).isEqualTo(api.get(0));
      assertThatThrownBy(() -> client.discover("bad name")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("service may contain only");
    }
  }

  @Test
  void defaultFailover_brokerDies_discoverAndTheWatchMoveOnWithoutLosingAnEvent() {
    brokers.get(1).registry().register(order(1)).join();
    try (LinkBridgeClient client = LinkBridge.client().brokers(api.toArray(String[]::new)).build()) { // FailoverConfig.DEFAULT
      List<InstanceEvent> events = new CopyOnWriteArrayList<>();
      List<Watch.State> states = new CopyOnWriteArrayList<>();
      Watch watch = client.watch("orders", events::add, (state, cause) -> states.add(state));
      await().atMost(Duration.ofSeconds(5)).until(() -> client.discover("orders").size() == 1 && watch.state() == Watch.State.WATCHING);

      brokers.get(0).shutdownNow(); // the broker holding both
      brokers.get(1).registry().register(order(2)).join();

      await().atMost(Duration.ofSeconds(10)).until(() -> client.discover("orders").size() == 2);
      await().atMost(Duration.ofSeconds(10)).until(() -> events.stream().anyMatch(e -> e.instance() != null && e.instance().id().equals("o2")));
      assertThat(client.currentBroker()).isNotEqualTo(api.get(0));
      assertThat(watch.state()).isEqualTo(Watch.State.WATCHING);
      assertThat(states).contains(Watch.State.RECONNECTING).doesNotContain(Watch.State.CLOSED);
      assertThat(events.stream().map(InstanceEvent::revision).toList()).isSorted().doesNotHaveDuplicates();
    }
  }

  @Test
  void brokerDiesUnderAWatch_watchResumesOnTheNextBroker_noEventLostRepeatedOrReordered() throws Exception {
    brokers.get(1).registry().register(order(0)).join();
    try (LinkBridgeClient client = LinkBridge.client().brokers(api.toArray(String[]::new)).failover(FAILOVER).build()) {
      List<InstanceEvent> events = new CopyOnWriteArrayList<>();
      Watch watch = client.watch("orders", events::add);
      // The snapshot may come from a broker that has not applied o0 yet: then o0 follows as ADDED.
      await().atMost(Duration.ofSeconds(5)).until(() -> watch.lastRevision() >= 1);
      assertThat(events.get(0).type()).isEqualTo(InstanceEvent.Type.SNAPSHOT);

      Thread writer = new Thread(() -> {
        for (int i = 1; i <= 150; i++) {
          brokers.get(1).registry().register(order(i)).join();
        }
      });
      writer.start();
      await().atMost(Duration.ofSeconds(10)).until(() -> events.size() > 30);
      long killed = System.nanoTime();
      brokers.get(0).shutdownNow(); // the broker holding the client's stream
      await().atMost(Duration.ofSeconds(10)).until(() -> !client.currentBroker().equals(api.get(0)));
      Duration failover = Duration.ofNanos(System.nanoTime() - killed);
      writer.join(30_000);
      long last = brokers.get(1).registry().revision();
      await().atMost(Duration.ofSeconds(10)).until(() -> watch.lastRevision() == last);

      List<InstanceEvent> changes = events.subList(1, events.size());
      assertThat(changes).extracting(InstanceEvent::type).containsOnly(InstanceEvent.Type.ADDED);
      List<Long> revisions = changes.stream().map(InstanceEvent::revision).toList();
      for (int i = 0; i < revisions.size(); i++) {
        assertThat(revisions.get(i)).as("event %d", i).isEqualTo(events.get(0).revision() + 1 + i); // gap-free, in order, no repeat
      }
      Set<String> added = new HashSet<>();
      changes.forEach(e -> added.add(e.instance().id()));
      for (int i = 1; i <= 150; i++) {
        assertThat(added).contains("o" + i);
      }
      assertThat(failover).isLessThan(FAILOVER.retryInterval().multipliedBy(2));
    }
  }
}
