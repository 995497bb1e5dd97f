package io.linkbridge.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.spi.ConsensusConfig;
import io.linkbridge.spi.ConsensusEngine;
import io.linkbridge.spi.ConsensusProvider;
import io.linkbridge.spi.StateMachine;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A failed fsync is fatal for the broker, as etcd treats a WAL error: it stops serving, says why, and acknowledges nothing more. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ForceFailureTest {
  @TempDir Path dir;

  /** Forces normally until {@code failFrom} forces were made, then every force fails as a dying disk's would. */
  private static LogForcer.Disk failingFrom(int failFrom, AtomicInteger forces) {
    return (channel, file) -> {
      if (forces.incrementAndGet() >= failFrom) {
        throw new IOException("Input/output error (simulated)");
      }
      channel.force(false);
    };
  }

  @Test
  void forceFails_brokerStopsServing_saysWhy_laterWritesFail_evenIfTheDiskRecovers() throws Exception {
    AtomicInteger forces = new AtomicInteger();
    AtomicInteger failFrom = new AtomicInteger(Integer.MAX_VALUE);
    LogForcer.Disk disk = (channel, file) -> {
      if (forces.incrementAndGet() == failFrom.get()) { // one failure only: a later good force must not make it good
        throw new IOException("Input/output error (simulated)");
      }
      channel.force(false);
    };
    ConsensusProvider provider = new ConsensusProvider() {
      @Override
      public String name() {
        return "atomix-raft-with-a-failing-disk";
      }

      @Override
      public ConsensusEngine create(ConsensusConfig config, StateMachine stateMachine) {
        return new AtomixRaftEngine(config, stateMachine, disk);
      }
    };
    try (Node node = LinkBridge.node().id("b1").raftAddress("127.0.0.1:" + FreePorts.next()).dataDir(dir).consensus(provider).start()) {
      NodeLeakCheck.track(node);
      node.ready().get(30, TimeUnit.SECONDS);
      node.registry().register(ServiceInstance.builder("pay").id("p-1").endpoint("10.0.0.1", 443).build()).get(10, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(5)).until(() -> ((DefaultNode) node).readiness().notServing().isEmpty());

      failFrom.set(forces.get() + 1);
      assertThatThrownBy(() -> node.registry().register(ServiceInstance.builder("pay").id("p-2").endpoint("10.0.0.1", 443).build())
          .get(10, TimeUnit.SECONDS)).hasMessageContaining("could not be forced to disk");

      assertThat(((DefaultNode) node).readiness().notServing()).hasValueSatisfying(reason -> assertThat(reason)
          .contains("stopped serving").contains("could not be forced to disk").contains(dir.toString()));
      assertThatThrownBy(() -> node.registry().register(ServiceInstance.builder("pay").id("p-3").endpoint("10.0.0.1", 443).build())
          .get(10, TimeUnit.SECONDS)).isNotNull(); // the disk works again, but this broker acknowledges nothing more
      assertThat(node.registry().instances("pay")).extracting(ServiceInstance::id).doesNotContain("p-3");
    }
  }

  @Test
  void withoutTheFatalRule_aLaterGoodForceWouldMarkLaterWritesDurable_soTheForcerRefusesEveryLaterForce() throws IOException {
    Files.write(dir.resolve("raft-1.log"), new byte[64]);
    AtomicInteger forces = new AtomicInteger();
    LogForcer forcer = new LogForcer(dir, "raft", "b1", failingFrom(1, forces), e -> {});
    assertThatThrownBy(() -> forcer.force(1, 10).join()).hasMessageContaining("could not be forced");
    assertThatThrownBy(() -> forcer.force(1, 11).join()).hasMessageContaining("could not be forced");
    assertThat(forces.get()).isEqualTo(1); // never tried again
    forcer.close();
  }
}
