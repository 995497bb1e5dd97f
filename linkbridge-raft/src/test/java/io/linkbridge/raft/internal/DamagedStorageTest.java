package io.linkbridge.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.linkbridge.LinkBridgeException;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged files are never served as if good: a bad checksum before the log's tail, or a bad snapshot,
 * stops the broker at start naming the file; a torn write at the tail is dropped with a WARN; and the
 * operator's discardDamagedState(true) moves the state aside and catches up to the same checksum.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DamagedStorageTest {
  static final int MAX_ENTRY = 64 * 1024;

  @TempDir Path dir;

  private static void register(Node via, String prefix, int count) {
    List<CompletableFuture<Long>> writes = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      writes.add(via.registry().register(ServiceInstance.builder("inventory").id(prefix + "-" + i).endpoint("10.2.0.1", 9090)
          .metadata("payload", "x".repeat(100)).build()));
      if (i % 10 == 9) { // several entries, not one batch
        CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
      }
    }
    CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
  }

  private static Path newestSegment(Path raftDir) throws IOException {
    try (Stream<Path> files = Files.list(raftDir)) {
      return files.filter(p -> LogIntegrityCheck.segmentId(p, "raft") >= 0)
          .max((a, b) -> Long.compare(LogIntegrityCheck.segmentId(a, "raft"), LogIntegrityCheck.segmentId(b, "raft"))).orElseThrow();
    }
  }

  /** The byte offsets of the entries of a segment (Atomix's [length][crc32][bytes] after a 64-byte descriptor). */
  private static List<Integer> entryOffsets(Path segment) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(segment));
    List<Integer> offsets = new ArrayList<>();
    for (int pos = LogIntegrityCheck.DESCRIPTOR_BYTES; pos + 8 <= buf.limit() && buf.getInt(pos) > 0; pos += 8 + buf.getInt(pos)) {
      offsets.add(pos);
    }
    return offsets;
  }

  private static void overwrite(Path file, long offset, int length) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      byte[] junk = new byte[length];
      Arrays.fill(junk, (byte) 0x5A);
      f.seek(offset);
      f.write(junk);
    }
  }

  private static int follower(TestCluster cluster) {
    return (cluster.leaderIndex().orElseThrow() + 1) % 3;
  }

  private static void awaitSameChecksum(TestCluster cluster, int expectedInstances) {
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(cluster.running()).extracting(n -> n.registry().checksum()).containsOnly(cluster.node(0).registry().checksum());
      assertThat(cluster.running()).allSatisfy(n -> assertThat(n.registry().state().instanceCount()).isEqualTo(expectedInstances));
    });
  }

  @Test
  void badChecksumInTheMiddleOfTheLog_refusesToStartNamingFileAndOffset_discardCatchesUp() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3).start()) {
      register(cluster.node(0), "a", 200);
      int f = follower(cluster);
      cluster.node(f).close();
      Path segment = newestSegment(cluster.dataDir(f).resolve("raft"));
      List<Integer> entries = entryOffsets(segment);
      int damaged = entries.get(entries.size() / 2);
      overwrite(segment, damaged + 8, 64); // 64 bytes inside an entry with many after it

      assertThatThrownBy(() -> cluster.start(f)).isInstanceOf(LinkBridgeException.class)
          .hasMessageContaining("will not start on damaged Raft state").hasMessageContaining(segment.toString())
          .hasMessageContaining("offset " + damaged).hasMessageContaining("discardDamagedState(true)");

      Node repaired = cluster.start(f, b -> b.discardDamagedState(true));
      repaired.ready().get(30, TimeUnit.SECONDS);
      assertThat(Files.list(cluster.dataDir(f))).anyMatch(p -> p.getFileName().toString().startsWith("raft.damaged-"));
      register(cluster.node((f + 1) % 3), "b", 10);
      awaitSameChecksum(cluster, 210);
    }
  }

  @Test
  void tornWriteAtTheTail_isDroppedWithAWarning_andTheBrokerCatchesUp() throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 3).start()) {
      register(cluster.node(0), "a", 100);
      int f = follower(cluster);
      cluster.node(f).close();
      Path segment = newestSegment(cluster.dataDir(f).resolve("raft"));
      List<Integer> entries = entryOffsets(segment);
      int last = entries.get(entries.size() - 1);
      overwrite(segment, last + 8, 4); // the last entry's bytes only half written

      Node restarted = cluster.start(f);
      restarted.ready().get(30, TimeUnit.SECONDS);
      awaitSameChecksum(cluster, 100);
    }
  }

  @Test
  void damagedSnapshot_stopsTheBroker_namingIt_andTheNextStartRefuses_discardCatchesUp() throws Exception {
    // Atomix snapshots only when whole segments can be deleted: small segments, enough entries
    try (TestCluster cluster = new TestCluster(dir, 3, b -> b.logSegmentSize(64 * 1024).maxEntrySize(32 * 1024)).start()) {
      register(cluster.node(0), "a", 600);
      int f = follower(cluster);
      Path raftDir = cluster.dataDir(f).resolve("raft");
      cluster.node(f).snapshot().get(30, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(30)).until(() -> snapshotFile(raftDir) != null);
      cluster.node(f).close();
      Path snapshot = snapshotFile(raftDir);
      overwrite(snapshot, Files.size(snapshot) / 2, 64);

      DefaultNode restarted = (DefaultNode) cluster.start(f);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(restarted.readiness().notServing())
          .hasValueSatisfying(why -> assertThat(why).contains("snapshot is damaged").contains(cluster.dataDir(f).toString())));
      assertThatThrownBy(() -> restarted.ready().get(10, TimeUnit.SECONDS)).hasMessageContaining("snapshot is damaged");
      restarted.close();

      assertThatThrownBy(() -> cluster.start(f)).isInstanceOf(LinkBridgeException.class).hasMessageContaining("snapshot is damaged");
      Node repaired = cluster.start(f, b -> b.discardDamagedState(true));
      repaired.ready().get(30, TimeUnit.SECONDS);
      awaitSameChecksum(cluster, 600);
    }
  }

  private static Path snapshotFile(Path raftDir) throws IOException {
    try (Stream<Path> files = Files.walk(raftDir)) {
      return files.filter(p -> p.getFileName().toString().endsWith(".snapshot")).findFirst().orElse(null);
    }
  }
}
