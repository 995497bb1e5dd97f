package io.linkbridge.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.Peer;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A wrong peer address is no silent hang of ready(): the broker WARNs naming the peers that do not answer. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SessionWarningTest {
  @TempDir Path dir;

  @Test
  void aBrokerWhosePeersDoNotAnswer_warnsNamingThem() {
    List<Peer> peers = List.of(Peer.of("broker-1", "127.0.0.1:" + FreePorts.next()), Peer.of("broker-2", "127.0.0.1:" + FreePorts.next()),
        Peer.of("broker-3", "127.0.0.1:" + FreePorts.next()));
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(new TeeStream(err, captured), true, StandardCharsets.UTF_8));
    try (Node node = LinkBridge.node().id("broker-1").raftAddress(peers.get(0).raftAddress().toString()).dataDir(dir).join(peers)
        .electionTimeout(Duration.ofMillis(500)).heartbeatInterval(Duration.ofMillis(100)).start()) {
      await().atMost(Duration.ofSeconds(30)).until(() -> captured.toString(StandardCharsets.UTF_8).contains("has not joined the cluster"));
      String warning = captured.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("has not joined the cluster")).findFirst()
          .orElseThrow();
      assertThat(warning).contains("WARN", "broker-1", "broker-2 at " + peers.get(1).raftAddress(), "broker-3 at " + peers.get(2).raftAddress(),
          "raftAddress");
      assertThat(node.ready()).isNotDone();
    } finally {
      System.setErr(err);
    }
  }

  /** Writes to both streams. */
  private static final class TeeStream extends java.io.OutputStream {
    private final java.io.OutputStream a;
    private final ByteArrayOutputStream b;

    TeeStream(java.io.OutputStream a, ByteArrayOutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public synchronized void write(int c) throws java.io.IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) throws java.io.IOException {
      a.write(buf, off, len);
      b.write(buf, off, len);
    }
  }
}
