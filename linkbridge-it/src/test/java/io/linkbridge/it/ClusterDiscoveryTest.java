package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.DiscoverRequest;
import io.linkbridge.grpc.v1.DiscoverResponse;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Three real brokers (Raft + gRPC) on loopback: every broker serves the same registry to its own clients. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterDiscoveryTest {
  @TempDir Path dir;

  @Test
  void writesThroughOneBroker_discoveredAndWatchedIdenticallyOnEveryBroker() throws Exception {
    List<ManagedChannel> channels = new ArrayList<>();
    try (TestCluster cluster = TestCluster.serving(dir, 3, b -> b).start()) {
      List<Node> brokers = cluster.running();
      for (int i = 0; i < 3; i++) {
        String[] hp = cluster.api(i).split(":");
        channels.add(NettyChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().build());
      }
      List<List<WatchEvent>> watched = new ArrayList<>();
      for (ManagedChannel c : channels) {
        watched.add(Watches.collect(c, "greeter"));
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> watched.stream().allMatch(w -> w.size() == 1));

      for (int i = 0; i < 30; i++) {
        brokers.get(i % 3).registry().register(ServiceInstance.builder("greeter").id("g" + i).endpoint("10.0.0.1", 9000 + i).build()).get(10, TimeUnit.SECONDS);
      }
      brokers.get(1).registry().deregister("greeter", "g7").get(10, TimeUnit.SECONDS);

      await().atMost(Duration.ofSeconds(10)).until(() -> watched.stream().allMatch(w -> w.size() == 32));
      for (List<WatchEvent> w : watched) {
        assertThat(w).extracting(WatchEvent::getRevision).isEqualTo(watched.get(0).stream().map(WatchEvent::getRevision).toList());
        assertThat(w.subList(1, 32)).extracting(WatchEvent::getRevision).isSorted().doesNotHaveDuplicates();
      }
      List<DiscoverResponse> answers = new ArrayList<>();
      for (ManagedChannel c : channels) {
        answers.add(DiscoveryServiceGrpc.newBlockingStub(c).withDeadlineAfter(5, TimeUnit.SECONDS)
            .discover(DiscoverRequest.newBuilder().setService("greeter").build()));
      }
      assertThat(answers).extracting(DiscoverResponse::getRevision).containsOnly(answers.get(0).getRevision());
      assertThat(answers.get(0).getInstancesList()).hasSize(29).extracting(Instance::getId).doesNotContain("g7");
      assertThat(answers).allSatisfy(a -> assertThat(a.getInstancesList()).isEqualTo(answers.get(0).getInstancesList()));
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
    }
  }

}
