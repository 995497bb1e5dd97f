package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.Agent;
import io.linkbridge.LinkBridge;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.it.process.RawAgentMain;
import io.linkbridge.testing.BrokerProcess;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.JavaCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Brokers as separate processes frozen with SIGSTOP (a GC pause, a stuck VM) while live agents hold
 * streams to them: no watcher on any broker ever sees a live agent's instance removed. A frozen
 * leader has seen nobody while it stood still, and a deposed one's judgement is refused.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BrokerPauseTest {
  @TempDir Path dir;
  private final List<Peer> peers = new ArrayList<>();
  private final List<String> api = new ArrayList<>();
  private final BrokerProcess[] brokers = new BrokerProcess[3];
  private final List<Agent> agents = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<String> removed = new CopyOnWriteArrayList<>();

  private void startBrokers(String... settings) {
    for (int i = 0; i < 3; i++) {
      peers.add(Peer.of("broker-" + (i + 1), "127.0.0.1:" + FreePorts.next()));
      api.add("127.0.0.1:" + FreePorts.next());
    }
    Set<String> acked = ConcurrentHashMap.newKeySet();
    for (int i = 0; i < 3; i++) {
      brokers[i] = BrokerProcess.start(peers.get(i).id(), dir.resolve(peers.get(i).id()), api.get(i), List.of(settings), peers,
          dir.resolve(peers.get(i).id() + ".log"), acked);
    }
    for (BrokerProcess b : brokers) {
      b.awaitReady();
    }
  }

  @AfterEach
  void stop() {
    agents.forEach(Agent::close);
    channels.forEach(ManagedChannel::shutdownNow);
    for (BrokerProcess b : brokers) {
      if (b != null) {
        b.kill();
      }
    }
  }

  private int leader() {
    return await().atMost(Duration.ofSeconds(20)).until(() -> IntStream.range(0, 3).filter(i -> brokers[i].status().isLeader()).findFirst()
        .orElse(-1), i -> i >= 0);
  }

  /** An agent of one instance holding the given brokers (it connects to the first two of its list). */
  private void agent(String id, int... on) {
    String[] list = IntStream.of(on).mapToObj(api::get).toArray(String[]::new);
    agents.add(LinkBridge.agent().id(id).brokers(list).register(ServiceInstance.builder("orders").id(id).endpoint("10.0.0.1", 7000).build()).start());
  }

  /** Watches "orders" on every broker; records every REMOVED event any watcher gets. */
  private void watchEverywhere(int expected) {
    List<List<WatchEvent>> all = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ManagedChannel c = NettyChannelBuilder.forTarget(api.get(i)).usePlaintext().build();
      channels.add(c);
      int broker = i;
      List<WatchEvent> events = new CopyOnWriteArrayList<>();
      all.add(events);
      Watches.watch(c, "orders", e -> {
        events.add(e);
        if (e.getType() == WatchEvent.Type.REMOVED) {
          removed.add("broker-" + (broker + 1) + " REMOVED " + e.getInstance().getId() + " at revision " + e.getRevision());
        }
      });
    }
    await().atMost(Duration.ofSeconds(15)).until(() -> IntStream.range(0, 3).allMatch(i -> brokers[i].status().instances() == expected)
        && all.stream().allMatch(events -> !events.isEmpty()));
  }

  /** Freezes broker {@code i} for {@code pause}, resumes it, then checks for {@code settle} that nothing was removed. */
  private void freeze(int i, Duration pause, Duration settle) {
    long resumeAt = System.nanoTime() + pause.toNanos();
    brokers[i].pause();
    try {
      await().atMost(pause.plusSeconds(5)).until(() -> System.nanoTime() >= resumeAt);
    } finally {
      brokers[i].resume();
    }
    await().during(settle).atMost(settle.plusSeconds(10)).untilAsserted(() -> assertThat(removed).isEmpty());
  }

  /** One agent on each follower alone, one on the leader and a follower; returns the leader's index. */
  private int agentsAroundTheLeader() {
    int leader = leader();
    int f1 = (leader + 1) % 3;
    agent("on-f1", f1);
    agent("on-f2", (leader + 2) % 3);
    agent("on-leader-and-f1", leader, f1);
    watchEverywhere(3);
    return leader;
  }

  @Test
  void leaderFrozenLongerThanTheAgentTimeoutButShorterThanAnElection_removesNothingOnResuming() {
    startBrokers("electionTimeout=2000ms", "heartbeatInterval=100ms", "agentTimeout=400ms");
    int leader = agentsAroundTheLeader();

    freeze(leader, Duration.ofMillis(1000), Duration.ofSeconds(3));

    assertThat(removed).isEmpty();
    assertThat(IntStream.range(0, 3).map(i -> brokers[i].status().instances())).containsOnly(3);
  }

  @Test
  void leaderFrozenPastAnElection_theDeposedLeaderRemovesNothing() {
    startBrokers("electionTimeout=800ms", "heartbeatInterval=100ms", "agentTimeout=400ms");
    int leader = agentsAroundTheLeader();

    freeze(leader, Duration.ofSeconds(3), Duration.ofSeconds(3));

    assertThat(removed).isEmpty();
    assertThat(brokers[leader].status().isLeader()).isFalse();
    assertThat(IntStream.range(0, 3).map(i -> brokers[i].status().instances())).containsOnly(3);
  }

  @Test
  void followerFrozenForTwoSeconds_withTheDefaultAgentTimeout_removesNothing() {
    startBrokers("electionTimeout=750ms", "heartbeatInterval=250ms"); // the defaults
    int leader = leader();
    int follower = (leader + 1) % 3;
    agent("on-follower", follower);
    agent("on-leader", leader);
    watchEverywhere(2);

    freeze(follower, Duration.ofSeconds(2), Duration.ofSeconds(3));

    assertThat(removed).isEmpty();
  }

  @Test
  void agentProcessFrozenForTwoSeconds_withTheDefaultAgentTimeout_removesNothing() throws Exception {
    startBrokers("electionTimeout=750ms", "heartbeatInterval=250ms"); // the defaults
    Process agent = new ProcessBuilder(JavaCommand.of("128m", RawAgentMain.class, List.of("frozen-agent", "orders", "frozen-agent",
        api.get(0), api.get(1)))).redirectError(dir.resolve("agent.log").toFile()).start();
    try {
      watchEverywhere(1);
      assertThat(new ProcessBuilder("kill", "-STOP", Long.toString(agent.pid())).start().waitFor()).isZero();
      long resumeAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
      await().atMost(Duration.ofSeconds(10)).until(() -> System.nanoTime() >= resumeAt);
      assertThat(new ProcessBuilder("kill", "-CONT", Long.toString(agent.pid())).start().waitFor()).isZero();
      await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(removed).isEmpty());
    } finally {
      agent.destroyForcibly();
    }
  }
}
