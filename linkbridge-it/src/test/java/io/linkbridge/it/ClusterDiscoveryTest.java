package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.DiscoverRequest;
import io.linkbridge.grpc.v1.DiscoverResponse;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.WatchEvent;
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

/** Three real brokers (Raft + gRPC) on loopback: every broker serves the same registry to its own clients. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterDiscoveryTest {
  @TempDir Path dir;

  @Test
  void writesThroughOneBroker_discoveredAndWatchedIdenticallyOnEveryBroker() throws Exception {
    List<Peer> peers = new ArrayList<>();
    List<Integer> apiPorts = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      peers.add(Peer.of("broker-" + i, "127.0.0.1:" + FreePorts.next()));
      apiPorts.add(FreePorts.next());
    }
    List<Node> brokers = new ArrayList<>();
    List<ManagedChannel> channels = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        Node n = LinkBridge.node().id(peers.get(i).id()).raftAddress(peers.get(i).raftAddress().toString())
            .address("127.0.0.1:" + apiPorts.get(i)).dataDir(dir.resolve(peers.get(i).id())).join(peers)
            .electionTimeout(Duration.ofMillis(500)).heartbeatInterval(Duration.ofMillis(100)).start();
        NodeLeakCheck.track(n);
        brokers.add(n);
        channels.add(NettyChannelBuilder.forAddress("127.0.0.1", apiPorts.get(i)).usePlaintext().build());
      }
      for (Node n : brokers) {
        n.ready().get(60, TimeUnit.SECONDS);
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
      brokers.forEach(Node::shutdownNow);
    }
  }

}
