package io.linkbridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class NodeBuilderTest {
  @TempDir Path dir;

  @Test
  void electionTimeout_tooShort_rejectedWithValue() {
    assertThatThrownBy(() -> LinkBridge.node().electionTimeout(Duration.ofMillis(10)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("electionTimeout must be at least 50ms, was 10ms");
  }

  @Test
  void raftAddress_withoutPort_rejected() {
    assertThatThrownBy(() -> LinkBridge.node().raftAddress("localhost"))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("raftAddress must be host:port such as 127.0.0.1:7000, was 'localhost'");
  }

  @Test
  void clusterName_withASpace_rejectedWithValue() {
    assertThatThrownBy(() -> LinkBridge.node().clusterName("prod east"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("clusterName may contain only").hasMessageContaining("'prod east'");
  }

  @Test
  void join_duplicateIds_rejected() {
    assertThatThrownBy(() -> LinkBridge.node().join(List.of(Peer.of("b1", "h:1"), Peer.of("b1", "h:2"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'b1' appears twice");
  }

  @Test
  void join_duplicateAddresses_rejected() {
    assertThatThrownBy(() -> LinkBridge.node().join(List.of(Peer.of("b1", "h:1"), Peer.of("b2", "h:1"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("h:1 appears twice");
  }

  @Test
  void start_electionTimeoutNotAboveHeartbeat_failsWithBothValues() {
    NodeBuilder b = LinkBridge.node().id("b1").raftAddress("127.0.0.1:7000").dataDir(dir)
        .electionTimeout(Duration.ofMillis(200)).heartbeatInterval(Duration.ofMillis(500));
    assertThatThrownBy(b::start).isInstanceOf(IllegalStateException.class).hasMessage("electionTimeout must be > heartbeatInterval (500ms), was 200ms");
  }

  @Test
  void start_withoutId_failsNamingTheSetter() {
    assertThatThrownBy(() -> LinkBridge.node().start()).isInstanceOf(IllegalStateException.class).hasMessageContaining("id is not set");
  }

  @Test
  void start_selfMissingFromPeers_failsNamingTheId() {
    NodeBuilder b = LinkBridge.node().id("b9").raftAddress("127.0.0.1:7000").dataDir(dir).join(List.of(Peer.of("b1", "127.0.0.1:7001")));
    assertThatThrownBy(b::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("no peer has id 'b9'");
  }

  @Test
  void start_raftAddressDiffersFromPeerEntry_fails() {
    NodeBuilder b = LinkBridge.node().id("b1").raftAddress("127.0.0.1:7000").dataDir(dir).join(List.of(Peer.of("b1", "127.0.0.1:7001")));
    assertThatThrownBy(b::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("differs from this broker's entry");
  }

  @Test
  void start_noConsensusProviderOnClassPath_failsWithTheFix() {
    NodeBuilder b = LinkBridge.node().id("b1").raftAddress("127.0.0.1:7000").dataDir(dir);
    assertThatThrownBy(b::start).isInstanceOf(LinkBridgeException.class)
        .hasMessage("No ConsensusProvider found: add io.linkbridge:linkbridge-raft or call NodeBuilder.consensus(...)");
  }

  @Test
  void start_addressWithoutTransportOnClassPath_failsWithTheFix() {
    NodeBuilder b = LinkBridge.node().id("b1").raftAddress("127.0.0.1:7000").address("127.0.0.1:5000").dataDir(dir)
        .consensus(new io.linkbridge.spi.LocalConsensusProvider());
    assertThatThrownBy(b::start).isInstanceOf(LinkBridgeException.class)
        .hasMessageContaining("No TransportProvider found to serve address 127.0.0.1:5000: add io.linkbridge:linkbridge-grpc");
  }

  @Test
  void toString_showsWhatWasSet() {
    assertThat(LinkBridge.node().id("b1").electionTimeout(Duration.ofSeconds(1)).toString()).contains("id=b1", "electionTimeout=1s");
  }

  @Test
  void durations_parseAndFormat() {
    assertThat(Durations.parse("k", "500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("k", "1h")).isEqualTo(Duration.ofHours(1));
    assertThat(Durations.format(Duration.ofSeconds(90))).isEqualTo("90s");
    assertThatThrownBy(() -> Durations.parse("broker.cluster.raft.electionTimeout", "5 sec"))
        .hasMessage("broker.cluster.raft.electionTimeout must be a duration such as 500ms, 5s, 2m, 1h or 1d, was '5 sec'");
  }

  @Test
  void snapshotConfig_retentionZero_rejected() {
    assertThatThrownBy(() -> SnapshotConfig.builder().retention(0)).hasMessage("snapshot retention must be at least 1, was 0");
  }
}
