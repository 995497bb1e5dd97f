package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.NodeBuilder;
import io.linkbridge.Peer;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A start that fails on a port in use leaves no thread behind and the data directory free. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FailedStartTest {
  @TempDir Path dir;
  // broker-1 of a three-broker cluster whose other brokers are not up: its Raft server never finishes bootstrapping.
  private final List<Peer> peers = List.of(Peer.of("broker-1", "127.0.0.1:" + FreePorts.next()),
      Peer.of("broker-2", "127.0.0.1:" + FreePorts.next()), Peer.of("broker-3", "127.0.0.1:" + FreePorts.next()));
  private final String api = "127.0.0.1:" + FreePorts.next();

  @Test
  void raftPortInUse_startFailsNamingIt_noThreadLeft_nextStartOnTheDirectorySucceeds() throws Exception {
    assertFailedStartLeavesNothing(peers.get(0).raftAddress().port(), "cannot bind the Raft transport to " + peers.get(0).raftAddress());
  }

  @Test
  void apiPortInUse_startFailsNamingIt_noThreadLeft_nextStartOnTheDirectorySucceeds() throws Exception {
    assertFailedStartLeavesNothing(Integer.parseInt(api.split(":")[1]), "cannot serve its API on " + api);
  }

  private void assertFailedStartLeavesNothing(int portInUse, String message) throws Exception {
    Set<Thread> before = NodeLeakCheck.nodeThreads();
    ServerSocket taken = new ServerSocket(portInUse, 1, InetAddress.getLoopbackAddress());
    try {
      assertThatThrownBy(() -> broker().start()).isInstanceOf(LinkBridgeException.class).hasMessageContaining(message);
    } finally {
      taken.close();
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(NodeLeakCheck.nodeThreads()).as("node threads alive after the failed start").isSubsetOf(before));
    var node = broker().start();
    NodeLeakCheck.track(node);
    node.close();
  }

  private NodeBuilder broker() {
    return LinkBridge.node().id("broker-1").raftAddress(peers.get(0).raftAddress().toString()).address(api)
        .dataDir(dir.resolve("broker-1")).join(peers);
  }
}
