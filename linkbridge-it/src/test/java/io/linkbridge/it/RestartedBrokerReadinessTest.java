package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.DiscoverRequest;
import io.linkbridge.grpc.v1.DiscoverResponse;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker restarted from its data directory replays its log before it has caught up. Until then its
 * health is NOT_SERVING and discovery answers UNAVAILABLE (so clients go elsewhere): no client is
 * ever answered from a half-replayed registry.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RestartedBrokerReadinessTest {
  static final int INSTANCES = 5_000;

  @TempDir Path dir;

  @Test
  void restartedBroker_answersNothingUntilCaughtUp_thenTheWholeRegistry() {
    try (TestCluster cluster = TestCluster.serving(dir, 3, b -> b).start()) {
      CompletableFuture.allOf(IntStream.range(0, INSTANCES).mapToObj(i -> cluster.node(0).registry()
          .register(ServiceInstance.builder("orders").id("o-" + i).endpoint("10.0.0.1", 7000 + i % 1000).build()))
          .toArray(CompletableFuture[]::new)).orTimeout(60, TimeUnit.SECONDS).join();
      cluster.node(2).close();

      cluster.start(2);
      ManagedChannel channel = NettyChannelBuilder.forTarget(cluster.api(2)).usePlaintext().build();
      List<String> wrongAnswers = new CopyOnWriteArrayList<>();
      List<String> servingWhileBehind = new CopyOnWriteArrayList<>();
      try {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5)).until(() -> {
          try {
            ServingStatus health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance()).getStatus();
            if (health == ServingStatus.SERVING && cluster.node(2).registry().state().instanceCount() != INSTANCES) {
              servingWhileBehind.add("SERVING with " + cluster.node(2).registry().state().instanceCount() + " instances");
            }
            DiscoverResponse r = DiscoveryServiceGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
                .discover(DiscoverRequest.newBuilder().setService("orders").build());
            if (r.getInstancesCount() != INSTANCES) {
              wrongAnswers.add(r.getInstancesCount() + " instances at revision " + r.getRevision());
            }
            return true;
          } catch (StatusRuntimeException e) {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            return false; // not serving yet (or not listening yet): a client would go to another broker
          }
        });
      } finally {
        channel.shutdownNow();
      }
      assertThat(wrongAnswers).as("discovery answers from a broker still replaying").isEmpty();
      assertThat(servingWhileBehind).as("health of a broker still replaying").isEmpty();
    }
  }
}
