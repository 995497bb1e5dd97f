package io.linkbridge.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.Peer;
import io.linkbridge.spi.ConsensusConfig;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.RecordingStateMachine;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL keeps the page cache, so only a power loss shows a missing fsync. The whole cluster loses
 * power under writes; every broker comes back with only what its forces made durable. Every
 * acknowledged write must be there; and on a disk whose force returns one force too early (an
 * acknowledgement before durability), the same test loses acknowledged writes, so it can tell.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PowerLossTest {
  @TempDir Path dir;
  private final List<Peer> peers = new ArrayList<>();
  private final AtomixRaftEngine[] engines = new AtomixRaftEngine[3];
  private final RecordingStateMachine[] machines = new RecordingStateMachine[3];

  @BeforeEach
  void peers() {
    for (int i = 0; i < 3; i++) {
      peers.add(Peer.of("m" + (i + 1), "127.0.0.1:" + FreePorts.next()));
    }
  }

  @AfterEach
  void stop() {
    for (AtomixRaftEngine e : engines) {
      if (e != null) {
        e.shutdownNow();
      }
    }
  }

  private Path raftDir(int i) {
    return dir.resolve(peers.get(i).id());
  }

  private void start(int i, LogForcer.Disk disk) {
    machines[i] = new RecordingStateMachine();
    engines[i] = new AtomixRaftEngine(new ConsensusConfig(peers.get(i).id(), peers.get(i).raftAddress(), peers, "power-loss", raftDir(i),
        Duration.ofMillis(500), Duration.ofMillis(100), Duration.ofSeconds(1), 64 * 1024, 1024 * 1024, false), machines[i], disk);
    engines[i].start().join();
  }

  /** Writes through every member until 300 are acknowledged; cuts the power of the whole cluster; restarts; returns what was lost. */
  private Set<String> lostAfterPowerCut(PowerLossDisk[] disks) {
    for (int i = 0; i < 3; i++) {
      start(i, disks[i]);
    }
    CompletableFuture.allOf(engines[0].ready(), engines[1].ready(), engines[2].ready()).orTimeout(60, TimeUnit.SECONDS).join();
    Set<String> acked = ConcurrentHashMap.newKeySet();
    List<CompletableFuture<byte[]>> inFlight = new ArrayList<>();
    for (int n = 0; n < 300; n++) {
      String entry = "w" + n;
      inFlight.add(engines[n % 3].propose(entry.getBytes(StandardCharsets.UTF_8)).whenComplete((r, e) -> {
        if (e == null) {
          acked.add(entry);
        }
      }));
    }
    CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).orTimeout(60, TimeUnit.SECONDS).join();

    for (PowerLossDisk disk : disks) { // the power goes everywhere at once
      disk.powerOff();
    }
    for (int i = 0; i < 3; i++) {
      engines[i].shutdownNow();
      disks[i].cutPower(raftDir(i));
    }
    for (int i = 0; i < 3; i++) {
      start(i, LogForcer.Disk.REAL);
    }
    CompletableFuture.allOf(engines[0].ready(), engines[1].ready(), engines[2].ready()).orTimeout(60, TimeUnit.SECONDS).join();
    Set<String> lost = ConcurrentHashMap.newKeySet();
    lost.addAll(acked);
    machines[0].entries.forEach(lost::remove);
    assertThat(acked).hasSize(300);
    return lost;
  }

  @Test
  void wholeClusterLosesPower_everyAcknowledgedWriteSurvives() {
    assertThat(lostAfterPowerCut(new PowerLossDisk[] {PowerLossDisk.working(), PowerLossDisk.working(), PowerLossDisk.working()})).isEmpty();
  }

  @Test
  void whenAForceReturnsBeforeTheDataIsDurable_thePowerCutLosesAcknowledgedWrites() {
    assertThat(lostAfterPowerCut(new PowerLossDisk[] {PowerLossDisk.acknowledgingBeforeDurable(), PowerLossDisk.acknowledgingBeforeDurable(),
        PowerLossDisk.acknowledgingBeforeDurable()})).isNotEmpty();
  }
}
