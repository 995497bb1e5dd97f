package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.SnapshotConfig;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.internal.SnapshotFiles;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SnapshotTest {
  @TempDir Path dir;

  private static void registerMany(Node via, String prefix, int count) {
    List<CompletableFuture<Long>> writes = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      writes.add(via.registry().register(ServiceInstance.builder("inventory").id(prefix + "-" + i).endpoint("10.2.0.1", 9090)
          .metadata("payload", "x".repeat(100)).build()));
    }
    CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
  }

  @Test
  void snapshotsTakenOnTheInterval_onlyRetentionFilesKept_newestMatchesTheState() throws IOException {
    SnapshotConfig every1s = SnapshotConfig.builder().interval(Duration.ofSeconds(1)).retention(2).compress(true).build();
    try (TestCluster cluster = new TestCluster(dir, 3, b -> b.snapshots(every1s)).start()) {
      DefaultNode node = (DefaultNode) cluster.node(0);
      SnapshotFiles files = node.snapshotFiles();
      for (int round = 0; round < 4; round++) {
        registerMany(node, "r" + round, 20);
        long revision = node.registry().revision();
        await().atMost(Duration.ofSeconds(10)).until(() -> files.latest().map(ClusterState::revision).orElse(-1L) == revision);
      }
      assertThat(files.list()).hasSize(2);
      ClusterState newest = files.latest().orElseThrow();
      assertThat(newest.checksum()).isEqualTo(node.registry().checksum());
      assertThat(newest.instanceCount()).isEqualTo(80);
    }
  }

  @Test
  void brokerRestartedAfterLogCompaction_restoresFromSnapshotWithSameChecksum() throws IOException {
    try (TestCluster cluster = new TestCluster(dir, 3, b -> b.logSegmentSize(64 * 1024).maxEntrySize(32 * 1024)).start()) {
      registerMany(cluster.node(0), "a", 1500);
      Path raftDir = cluster.dataDir(2).resolve("raft");
      assertThat(segments(raftDir)).contains("raft-1.log");

      // The leader first, then the followers: the order in which Atomix would replicate the leader's
      // snapshot onto the followers' own (see RedundantInstallFilter). Each takes ~10s to complete.
      Node leader = cluster.node(cluster.leaderIndex().orElseThrow());
      leader.snapshot().get(30, TimeUnit.SECONDS);
      CompletableFuture.allOf(cluster.running().stream().filter(n -> n != leader).map(Node::snapshot).toArray(CompletableFuture[]::new))
          .get(30, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(segments(raftDir)).doesNotContain("raft-1.log"));
      for (int i = 0; i < 3; i++) {
        // Each broker keeps a snapshot covering the compacted log (Atomix could delete it: RedundantInstallFilter).
        assertThat(files(cluster.dataDir(i).resolve("raft"))).as("raft files of broker %d", i).anyMatch(n -> n.endsWith(".snapshot"));
      }
      registerMany(cluster.node(1), "b", 50);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(cluster.running())
          .as("revisions %s", cluster.running().stream().map(n -> n.id() + "@" + n.registry().revision() + " commit=" + ((DefaultNode) n).consensus().commitIndex() + " applied=" + ((DefaultNode) n).consensus().appliedIndex() + " leader=" + n.leaderId()).toList())
          .extracting(n -> n.registry().checksum()).containsOnly(cluster.node(0).registry().checksum()));
      long checksum = cluster.node(1).registry().checksum();

      cluster.node(2).shutdownNow();
      Node restarted = cluster.start(2);
      restarted.ready().get(30, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        assertThat(restarted.registry().checksum()).isEqualTo(checksum);
        assertThat(restarted.registry().state().instanceCount()).isEqualTo(1550);
      });
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static List<String> segments(Path raftDir) throws IOException {
    return files(raftDir).stream().filter(n -> n.endsWith(".log")).toList();
  }

  private static List<String> files(Path raftDir) throws IOException {
    try (Stream<Path> s = Files.list(raftDir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
