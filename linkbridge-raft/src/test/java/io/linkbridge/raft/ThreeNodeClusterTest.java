package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Node;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ThreeNodeClusterTest {
  @TempDir Path dir;

  @Test
  void thousandRegistrationsThroughEveryNode_visibleOnAllThreeWithEqualChecksums() {
    try (TestCluster cluster = new TestCluster(dir, 3).start()) {
      List<CompletableFuture<Long>> writes = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        Node via = cluster.node(i % 3);
        writes.add(via.registry().register(instance("svc-" + (i % 10), "i-" + i)));
      }
      CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
      assertThat(writes).extracting(CompletableFuture::join).doesNotHaveDuplicates();

      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        for (Node n : cluster.running()) {
          assertThat(n.registry().state().instanceCount()).isEqualTo(1000);
        }
      });
      long checksum = cluster.node(0).registry().checksum();
      assertThat(cluster.running()).allSatisfy(n -> {
        assertThat(n.registry().revision()).isEqualTo(1000);
        assertThat(n.registry().checksum()).isEqualTo(checksum);
      });
    }
  }

  /** Only an agent registers what it owns: an embedder cannot write an instance into an agent's set (it would bypass its fence and liveness). */
  @Test
  void registerRefusesAnInstanceThatNamesAnAgent() {
    try (TestCluster cluster = new TestCluster(dir, 1).start()) {
      Node node = cluster.node(0);
      ServiceInstance owned = ServiceInstance.builder("greeter").id("g1").endpoint("10.0.0.1", 9000).agentId("agent-7").build();
      assertThat(node.registry().register(owned)).failsWithin(Duration.ofSeconds(5)).withThrowableOfType(ExecutionException.class)
          .havingCause().isInstanceOfSatisfying(RegistrationRejectedException.class, e -> {
            assertThat(e.reason()).isEqualTo(RegistrationRejectedException.Reason.INVALID);
            assertThat(e).hasMessageContaining("greeter/g1", "agent-7", "agentId \"\"");
          });
      assertThat(node.registry().register(instance("greeter", "g2")).join()).isEqualTo(1);
      assertThat(node.registry().instances("greeter")).extracting(ServiceInstance::id).containsExactly("g2");
    }
  }

  static ServiceInstance instance(String service, String id) {
    return ServiceInstance.builder(service).id(id).endpoint("10.0.0.1", 9000).metadata("zone", "a").grpcService("demo.Echo").build();
  }
}
