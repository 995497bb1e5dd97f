package io.linkbridge.bench;

import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.NodeBuilder;
import io.linkbridge.Peer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Three Link Bridge brokers in this JVM on loopback, with default durability (fsync before ack). */
final class LinkBridgeCluster implements AutoCloseable {
  final List<Node> nodes = new ArrayList<>();
  /** The brokers' gRPC API addresses ({@code host:port}); served only when started with {@code serveApi}. */
  final List<String> apis = new ArrayList<>();

  /** Starts the three brokers in {@code dir} and returns once all are ready. */
  LinkBridgeCluster(Path dir, boolean serveApi) throws Exception {
    List<Peer> peers = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      peers.add(Peer.of("broker-" + i, "127.0.0.1:" + Ports.free()));
      apis.add("127.0.0.1:" + Ports.free());
    }
    for (int i = 0; i < 3; i++) {
      Peer p = peers.get(i);
      NodeBuilder b = LinkBridge.node().id(p.id()).raftAddress(p.raftAddress().toString()).dataDir(dir.resolve(p.id())).join(peers)
          .electionTimeout(Duration.ofMillis(750)).heartbeatInterval(Duration.ofMillis(250));
      nodes.add((serveApi ? b.address(apis.get(i)) : b).start());
    }
    for (Node n : nodes) {
      n.ready().get(60, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() {
    nodes.forEach(Node::shutdownNow);
  }
}
