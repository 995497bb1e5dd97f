package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd-style corruption check at run time: the brokers compare their replicas at checksum marks in
 * the log. Healthy replicas agree; a replica made to diverge behind the log's back raises the alarm
 * on itself (ERROR, a metric, not serving) and only on itself.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ReplicaConsistencyTest {
  @TempDir Path dir;

  @Test
  void healthyReplicas_agreeAtEveryMark_aDivergedOne_raisesTheAlarmOnItselfOnly() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3, b -> b.consistencyCheckInterval(Duration.ofMillis(300))).start()) {
      cluster.node(0).registry().register(ServiceInstance.builder("pay").id("p-1").endpoint("10.0.0.1", 443).build()).get(10, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(cluster.running())
          .allSatisfy(n -> assertThat(n.metrics().consistencyChecks()).isGreaterThanOrEqualTo(2)));
      assertThat(cluster.running()).allSatisfy(n -> assertThat(n.metrics().consistencyMismatches()).isZero());

      int odd = (cluster.leaderIndex().orElseThrow() + 1) % 3;
      DefaultNode diverged = (DefaultNode) cluster.node(odd);
      // A bit flip, a bug, an edited file: this replica's state changes outside the log. Done on its
      // apply thread (from a listener of the next change), never beside it.
      AtomicBoolean armed = new AtomicBoolean(true);
      diverged.registry().subscribe(e -> {
        if (armed.compareAndSet(true, false)) {
          diverged.stateMachine().applyAll(List.of(new RegistryCommand.RegisterInstance(
              ServiceInstance.builder("pay").id("phantom").endpoint("10.6.6.6", 443).build())));
        }
      });
      cluster.node(0).registry().register(ServiceInstance.builder("pay").id("p-2").endpoint("10.0.0.1", 443).build()).get(10, TimeUnit.SECONDS);

      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        assertThat(diverged.metrics().consistencyMismatches()).isEqualTo(1);
        assertThat(diverged.readiness().notServing()).hasValueSatisfying(why -> assertThat(why).contains("diverged from the cluster"));
      });
      for (int i = 0; i < 3; i++) {
        if (i != odd) {
          Node healthy = cluster.node(i);
          assertThat(healthy.metrics().consistencyMismatches()).isZero();
          assertThat(((DefaultNode) healthy).readiness().notServing()).isEmpty();
        }
      }
    }
  }
}
