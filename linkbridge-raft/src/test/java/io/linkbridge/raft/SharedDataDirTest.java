package io.linkbridge.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Node;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A data directory serves one broker at a time; a second one in this JVM is refused at start and changes nothing. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SharedDataDirTest {
  @TempDir Path dir;

  @Test
  void secondNodeWithTheSameIdAndRaftAddress_failsAtStartNamingTheDirectoryAndPid_firstUntouchedAndServing() throws Exception {
    assertSecondStartRefused("broker-1", null);
  }

  @Test
  void secondNodeWithTheSameIdOnAnotherRaftPort_failsAtStartNamingTheDirectoryAndPid_firstUntouchedAndServing() throws Exception {
    assertSecondStartRefused("broker-1", "127.0.0.1:" + FreePorts.next()); // only the directory stands in its way
  }

  @Test
  void secondNodeWithAnotherId_failsAtStartNamingTheDirectoryAndPid_firstUntouchedAndServing() throws Exception {
    assertSecondStartRefused("broker-9", "127.0.0.1:" + FreePorts.next());
  }

  /** Starts a second node on the first one's data directory, on {@code raftAddress} or the first one's. */
  private void assertSecondStartRefused(String secondId, String raftAddress) throws Exception {
    try (TestCluster cluster = new TestCluster(dir, 1).start()) {
      Node first = cluster.node(0);
      register(first, "before");
      Path dataDir = cluster.dataDir(0);
      DataDirContents before = DataDirContents.of(dataDir);
      String address = raftAddress != null ? raftAddress : first.raftAddress().toString();
      assertThatThrownBy(() -> LinkBridge.node().id(secondId).raftAddress(address).dataDir(dataDir)
          .join(List.of(Peer.of(secondId, address))).start())
          .isInstanceOf(LinkBridgeException.class)
          .hasMessageStartingWith("dataDir " + dataDir + " is in use by another node in this JVM (pid " + ProcessHandle.current().pid()
              + ", broker broker-1, since ")
          .hasMessageContaining("give each broker a dataDir of its own");
      assertThat(DataDirContents.of(dataDir)).isEqualTo(before);
      register(first, "after");
      assertThat(first.registry().instances("orders")).extracting(ServiceInstance::id).containsExactly("after", "before");
    }
  }

  private static void register(Node node, String id) throws Exception {
    node.registry().register(ServiceInstance.builder("orders").id(id).endpoint("10.0.0.1", 7000).build()).get(10, TimeUnit.SECONDS);
  }

  /**
   * What a second start could damage: the Raft directory's files and sizes, Atomix's member file,
   * and the LOCK file, which is only stat'ed: reading it here would drop its holder's POSIX lock.
   */
  private record DataDirContents(List<String> raftFiles, String atomixMemberFile, long lockSize, Object lockFileKey, long lockModified) {
    static DataDirContents of(Path dataDir) throws IOException {
      Path raft = dataDir.resolve("raft");
      List<String> listing;
      try (Stream<Path> s = Files.list(raft)) {
        listing = s.map(p -> p.getFileName() + " " + p.toFile().length()).sorted().toList();
      }
      BasicFileAttributes lock = Files.readAttributes(dataDir.resolve("LOCK"), BasicFileAttributes.class);
      return new DataDirContents(listing, Files.readString(raft.resolve(".raft.lock"), StandardCharsets.ISO_8859_1),
          lock.size(), lock.fileKey(), lock.lastModifiedTime().toMillis());
    }
  }
}
