package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.HostAndPort;
import io.linkbridge.Node;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.spi.BrokerContext;
import io.linkbridge.spi.BrokerTransport;
import io.linkbridge.spi.TransportProvider;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every broker, once caught up, puts its API address into the replicated state; each broker's
 * transport then knows where the others serve (where a leaving broker sends its agents and watchers).
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AnnouncedBrokerAddressTest {
  @TempDir Path dir;

  /** Serves nothing; keeps the context each broker's transport was given. */
  private final TransportProvider recording = new TransportProvider() {
    @Override
    public String name() {
      return "recording";
    }

    @Override
    public BrokerTransport start(BrokerContext context) {
      return new BrokerTransport() {
        @Override
        public void shutdown() {}

        @Override
        public void shutdownNow() {}
      };
    }
  };

  @Test
  void everyBroker_announcesItsApiAddress_andEachKnowsTheOthersInMemberOrder() {
    try (TestCluster cluster = TestCluster.serving(dir, 3, b -> b.transport(recording)).start()) {
      HostAndPort[] api = new HostAndPort[3];
      for (int i = 0; i < 3; i++) {
        api[i] = HostAndPort.parse("api", cluster.api(i));
      }
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        for (Node n : cluster.running()) {
          assertThat(n.registry().state().brokerAddresses())
              .isEqualTo(Map.of("broker-1", api[0], "broker-2", api[1], "broker-3", api[2]));
        }
      });
      assertThat(((DefaultNode) cluster.node(0)).otherBrokers()).containsExactly(api[1], api[2]);
      assertThat(((DefaultNode) cluster.node(1)).otherBrokers()).containsExactly(api[0], api[2]);
      assertThat(((DefaultNode) cluster.node(2)).otherBrokers()).containsExactly(api[0], api[1]);
      cluster.ensureSame();

      assertThat(cluster.running()).as("announcements are no registry changes: no revision, no event")
          .allSatisfy(n -> assertThat(n.registry().revision()).isZero());

      cluster.kill(1);
      cluster.restart(1);
      cluster.awaitReady();
      assertThat(cluster.node(1).registry().state().brokerAddresses()).hasSize(3);
      cluster.ensureSame();
    }
  }

  @Test
  void aBrokerThatServesNoApi_announcesNothing() {
    try (TestCluster cluster = new TestCluster(dir, 3).start()) {
      cluster.node(0).registry().register(ThreeNodeClusterTest.instance("s", "i1")).join();
      await().atMost(Duration.ofSeconds(10)).until(() -> cluster.running().stream().allMatch(n -> n.registry().revision() == 1));
      assertThat(cluster.running()).allSatisfy(n -> assertThat(n.registry().state().brokerAddresses()).isEmpty());
      assertThat(List.of(cluster.node(0).registry().revision())).containsExactly(1L);
    }
  }
}
