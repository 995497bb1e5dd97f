package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Agent;
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
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Three brokers, two agents (one holding two brokers), three clients on different brokers: one view. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LifecycleAgreementTest {
  @TempDir Path dir;

  @Test
  void everyClientSeesTheSameInstancesAtTheSameRevision() throws Exception {
    List<LinkBridgeClient> clients = new ArrayList<>();
    try (TestCluster cluster = TestCluster.serving(dir, 3, b -> b).start()) {
      List<Node> brokers = cluster.running();
      try (Agent a1 = LinkBridge.agent().id("agent-a1").brokers(cluster.api(0), cluster.api(1))
              .register(ServiceInstance.builder("greeter").id("greeter-1").endpoint("10.0.0.1", 9000).build()).start();
          Agent a2 = LinkBridge.agent().id("agent-a2").brokers(cluster.api(2))
              .register(ServiceInstance.builder("greeter").id("greeter-2").endpoint("10.0.0.2", 9000).build()).start()) {
        assertThat(a1.connectedBrokers()).hasSize(2);
        assertThat(a2.connectedBrokers()).hasSize(1);
        List<Watch> watches = new ArrayList<>();
        List<ConcurrentHashMap<String, Long>> views = new ArrayList<>(); // instance id -> revision last seen, per client
        for (int i = 0; i < 3; i++) {
          LinkBridgeClient c = LinkBridge.client().brokers(cluster.api(i)).build(); // each client on its own broker
          clients.add(c);
          ConcurrentHashMap<String, Long> view = new ConcurrentHashMap<>();
          views.add(view);
          watches.add(c.watch("greeter", e -> apply(view, e)));
        }
        long revision = brokers.get(0).registry().revision();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
          for (int i = 0; i < 3; i++) {
            assertThat(clients.get(i).discover("greeter")).extracting(ServiceInstance::id).containsExactly("greeter-1", "greeter-2");
            assertThat(views.get(i).keySet()).containsExactlyInAnyOrder("greeter-1", "greeter-2");
            assertThat(watches.get(i).lastRevision()).isPositive();
          }
          // the brokers behind the three clients are at one revision with one checksum
          assertThat(brokers).extracting(b -> b.registry().revision()).containsOnly(brokers.get(0).registry().revision());
          assertThat(brokers).extracting(b -> b.registry().checksum()).containsOnly(brokers.get(0).registry().checksum());
        });
        assertThat(brokers.get(0).registry().revision()).isGreaterThanOrEqualTo(revision);
      }
    } finally {
      clients.forEach(LinkBridgeClient::close);
    }
  }

  /** A client's view: instance id -> revision it was last seen at. */
  private static void apply(ConcurrentHashMap<String, Long> view, InstanceEvent e) {
    switch (e.type()) {
      case SNAPSHOT -> {
        view.clear();
        e.instances().forEach(i -> view.put(i.id(), e.revision()));
      }
      case ADDED, UPDATED -> view.put(e.instance().id(), e.revision());
      case REMOVED, SHUTDOWN_NOTICE -> view.remove(e.instance().id());
    }
  }
}
