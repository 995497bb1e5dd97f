package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.AgentStatus;
import io.linkbridge.Node;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.it.process.RawAgentMain;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent process holding two of three brokers, killed with SIGKILL or frozen with SIGSTOP: its
 * instance leaves the registry of every broker and every watcher is told within
 * heartbeatInterval x (timeout + 1), plus the Raft commits of the detaches.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AgentFailureDetectionTest {
  static final Duration HEARTBEAT = Duration.ofMillis(200);
  static final int TIMEOUT_INTERVALS = 3;
  /** Two detaches committed through Raft and pushed to watchers, on a shared 2-core machine. */
  static final Duration COMMIT_ALLOWANCE = Duration.ofMillis(300);

  @TempDir Path dir;
  private TestCluster cluster;
  private List<Node> brokers;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final ConcurrentHashMap<Integer, Long> removedAt = new ConcurrentHashMap<>();
  private Process agent;

  @BeforeEach
  void startCluster() {
    cluster = TestCluster.serving(dir, 3, b -> b.electionTimeout(Duration.ofMillis(1000)).heartbeatInterval(HEARTBEAT)
        .agentTimeout(HEARTBEAT.multipliedBy(TIMEOUT_INTERVALS))).start();
    brokers = cluster.running();
    for (int i = 0; i < 3; i++) {
      channels.add(NettyChannelBuilder.forTarget(cluster.api(i)).usePlaintext().build());
      int broker = i;
      Watches.watch(channels.get(i), "orders", e -> {
        if (e.getType() == WatchEvent.Type.REMOVED) {
          removedAt.putIfAbsent(broker, System.nanoTime());
        }
      });
    }
  }

  @AfterEach
  void stopAll() {
    if (agent != null) {
      agent.destroyForcibly();
    }
    channels.forEach(ManagedChannel::shutdownNow);
    cluster.close();
  }

  private void startAgentOnTwoBrokers() throws Exception {
    agent = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m", "-cp",
        System.getProperty("java.class.path"), RawAgentMain.class.getName(), "agent-x", "orders", "orders-1", cluster.api(0), cluster.api(1))
        .redirectError(dir.resolve("agent.log").toFile()).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(agent.getInputStream(), StandardCharsets.UTF_8));
    assertThat(out.readLine()).isEqualTo("registered");
    await().atMost(Duration.ofSeconds(10)).until(() -> brokers.stream().allMatch(b -> b.registry().instances("orders").size() == 1
        && b.registry().state().agent("agent-x").map(a -> a.brokers().size() == 2).orElse(false)));
  }

  private Duration awaitEveryWatcherTold(long since) {
    await().atMost(Duration.ofSeconds(10)).until(() -> removedAt.size() == 3);
    assertThat(brokers).allSatisfy(b -> {
      assertThat(b.registry().instances("orders")).isEmpty();
      assertThat(b.registry().state().agent("agent-x").orElseThrow().status()).isEqualTo(AgentStatus.DEAD);
    });
    return Duration.ofNanos(removedAt.values().stream().mapToLong(t -> t - since).max().orElseThrow());
  }

  @Test
  void agentKilled_goneFromEveryBrokerAndEveryWatcherToldInTime() throws Exception {
    startAgentOnTwoBrokers();
    long killed = System.nanoTime();
    agent.destroyForcibly(); // SIGKILL
    Duration took = awaitEveryWatcherTold(killed);
    assertThat(took).isLessThan(HEARTBEAT.multipliedBy(TIMEOUT_INTERVALS + 1).plus(COMMIT_ALLOWANCE));
  }

  @Test
  void agentFrozen_goneFromEveryBrokerAndEveryWatcherToldInTime() throws Exception {
    startAgentOnTwoBrokers();
    long frozen = System.nanoTime();
    assertThat(new ProcessBuilder("kill", "-STOP", Long.toString(agent.pid())).start().waitFor()).isZero();
    Duration took = awaitEveryWatcherTold(frozen);
    assertThat(took).isLessThan(HEARTBEAT.multipliedBy(TIMEOUT_INTERVALS + 1).plus(COMMIT_ALLOWANCE));
    assertThat(took).isGreaterThanOrEqualTo(HEARTBEAT.multipliedBy(TIMEOUT_INTERVALS).minus(HEARTBEAT)); // it was not a broken stream
  }
}
