package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Peer;
import io.linkbridge.testing.BrokerProcess;
import io.linkbridge.testing.FreePorts;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Crash behaviour on real broker processes killed with SIGKILL. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CrashRecoveryProcessTest {
  @TempDir Path dir;
  private final List<Peer> peers = new ArrayList<>();
  private final BrokerProcess[] brokers = new BrokerProcess[3];
  private final Set<String> acked = ConcurrentHashMap.newKeySet();

  @BeforeEach
  void startCluster() {
    for (int i = 0; i < 3; i++) {
      peers.add(Peer.of("broker-" + (i + 1), "127.0.0.1:" + FreePorts.next()));
    }
    for (int i = 0; i < 3; i++) {
      brokers[i] = start(i);
    }
    for (BrokerProcess b : brokers) {
      b.awaitReady();
    }
  }

  @AfterEach
  void killAll() {
    for (BrokerProcess b : brokers) {
      if (b != null) {
        b.kill();
      }
    }
  }

  private BrokerProcess start(int i) {
    return BrokerProcess.start(peers.get(i).id(), dir.resolve(peers.get(i).id()), peers, dir.resolve(peers.get(i).id() + ".log"), acked);
  }

  private int leader() {
    await().atMost(Duration.ofSeconds(30)).until(() -> leaderOrMinus1() >= 0);
    return leaderOrMinus1();
  }

  private int leaderOrMinus1() {
    for (int i = 0; i < 3; i++) {
      if (brokers[i].isAlive() && brokers[i].status().isLeader()) {
        return i;
      }
    }
    return -1;
  }

  private void awaitSameState() {
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      List<BrokerProcess.Status> all = new ArrayList<>();
      for (BrokerProcess b : brokers) {
        all.add(b.status());
      }
      assertThat(all).extracting(BrokerProcess.Status::checksum).containsOnly(all.get(0).checksum());
      assertThat(all).extracting(BrokerProcess.Status::revision).containsOnly(all.get(0).revision());
    });
  }

  @Test
  void leaderKilledDuringWrites_restartedFromDataDir_catchesUpToSameChecksum() {
    int leader = leader();
    int writer = (leader + 1) % 3;
    brokers[writer].startWriting("a");
    await().atMost(Duration.ofSeconds(30)).until(() -> acked.size() >= 300);

    brokers[leader].kill();
    int atKill = acked.size();
    await().atMost(Duration.ofSeconds(30)).until(() -> acked.size() >= atKill + 300);

    brokers[leader] = start(leader);
    brokers[leader].awaitReady();
    int atRestart = acked.size();
    await().atMost(Duration.ofSeconds(30)).until(() -> acked.size() >= atRestart + 200);
    brokers[writer].stopWriting("a");

    awaitSameState();
    for (BrokerProcess b : brokers) {
      assertThat(b.ids()).containsAll(acked);
    }
  }

  @Test
  void wholeClusterKilledAndRestartedFromDisk_sameState() {
    int writer = leader();
    brokers[writer].startWriting("b");
    await().atMost(Duration.ofSeconds(30)).until(() -> acked.size() >= 500);
    brokers[writer].stopWriting("b");
    awaitSameState();
    BrokerProcess.Status before = brokers[0].status();

    for (BrokerProcess b : brokers) {
      b.kill();
    }
    for (int i = 0; i < 3; i++) {
      brokers[i] = start(i);
    }
    for (BrokerProcess b : brokers) {
      b.awaitReady();
    }

    awaitSameState();
    BrokerProcess.Status after = brokers[0].status();
    assertThat(after.checksum()).isEqualTo(before.checksum());
    assertThat(after.revision()).isEqualTo(before.revision());
    assertThat(brokers[1].ids()).containsAll(acked).hasSize(before.instances());
  }
}
