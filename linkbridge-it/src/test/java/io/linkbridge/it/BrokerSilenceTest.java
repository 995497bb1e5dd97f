package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Agent;
import io.linkbridge.ClientBuilder;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.NodeBuilder;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.Watch;
import io.linkbridge.testing.BrokerProcess;
import io.linkbridge.testing.FreePorts;
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
 * A broker process frozen with SIGSTOP (half-open TCP: its sockets stay open, nothing comes) while a
 * client watches through it and an agent holds a stream to it: both move to other brokers within
 * the documented bounds (docs/clients.md, docs/agents.md), and the watch misses nothing. Needs brokers
 * that send PROGRESS on idle watches and Ping.interval_millis.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BrokerSilenceTest {
  /** A watch: 3 progress intervals of silence, half an interval until the check, a reconnect. */
  static final Duration WATCH_BOUND = ClientBuilder.DEFAULT_WATCH_PROGRESS_INTERVAL.multipliedBy(4).plusSeconds(1);
  /**
   * An agent: 3 ping intervals (the default, 1 s) of silence, half a second more if the broker froze
   * before its first ping, a check (100 ms), a register elsewhere: one Raft write, which while a member
   * is frozen may wait up to the Raft request timeout (2 x the election timeout of 1500ms here, as
   * docs/agents.md says).
   */
  static final Duration AGENT_BOUND = NodeBuilder.DEFAULT_AGENT_PING_INTERVAL.multipliedBy(3).plusMillis(500 + 100).plusMillis(2 * 1500)
      .plusSeconds(1);

  @TempDir Path dir;
  private final List<Peer> peers = new ArrayList<>();
  private final List<String> api = new ArrayList<>();
  private final BrokerProcess[] brokers = new BrokerProcess[3];
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private Integer paused;

  @AfterEach
  void stop() throws Exception {
    if (paused != null) {
      brokers[paused].resume();
    }
    for (AutoCloseable c : closeables) {
      c.close();
    }
    for (BrokerProcess b : brokers) {
      if (b != null) {
        b.kill();
      }
    }
  }

  private void startBrokers() {
    for (int i = 0; i < 3; i++) {
      peers.add(Peer.of("broker-" + (i + 1), "127.0.0.1:" + FreePorts.next()));
      api.add("127.0.0.1:" + FreePorts.next());
    }
    Set<String> acked = ConcurrentHashMap.newKeySet();
    for (int i = 0; i < 3; i++) {
      brokers[i] = BrokerProcess.start(peers.get(i).id(), dir.resolve(peers.get(i).id()), api.get(i),
          List.of("electionTimeout=1500ms", "heartbeatInterval=100ms", "agentTimeout=5s"), peers, dir.resolve(peers.get(i).id() + ".log"), acked);
    }
    for (BrokerProcess b : brokers) {
      b.awaitReady();
    }
  }

  private int follower() {
    int leader = await().atMost(Duration.ofSeconds(20)).until(() -> IntStream.range(0, 3).filter(i -> brokers[i].status().isLeader())
        .findFirst().orElse(-1), i -> i >= 0);
    return (leader + 1) % 3;
  }

  private <T extends AutoCloseable> T closing(T c) {
    closeables.add(0, c);
    return c;
  }

  private static ServiceInstance orders(String id) {
    return ServiceInstance.builder("orders").id(id).endpoint("10.0.0.1", 7000).build();
  }

  @Test
  void frozenBroker_theWatchAndTheAgentMoveOffItWithinTheDocumentedBounds_noEventLost() {
    startBrokers();
    int frozen = follower();
    List<String> order = new ArrayList<>(List.of(api.get(frozen)));
    IntStream.range(0, 3).filter(i -> i != frozen).forEach(i -> order.add(api.get(i)));

    Agent agent = closing(LinkBridge.agent().id("agent-a").brokers(order.toArray(String[]::new)).register(orders("o1")).start());
    LinkBridgeClient client = closing(LinkBridge.client().brokers(order.toArray(String[]::new)).build());
    List<InstanceEvent> events = new CopyOnWriteArrayList<>();
    Watch watch = closing(client.watch("orders", events::add));
    await().atMost(Duration.ofSeconds(10)).until(() -> watch.state() == Watch.State.WATCHING && !events.isEmpty()
        && agent.connectedBrokers().contains(api.get(frozen)));
    assertThat(client.currentBroker()).isEqualTo(api.get(frozen));

    long pausedAt = System.nanoTime();
    brokers[frozen].pause();
    paused = frozen;

    // each move is timed on its own: one poll loop notes when each condition first holds
    long[] movedAt = {0, 0}; // agent, watch
    await().atMost(AGENT_BOUND.plusSeconds(5)).pollInterval(Duration.ofMillis(20)).until(() -> {
      long now = System.nanoTime();
      if (movedAt[0] == 0 && !agent.connectedBrokers().contains(api.get(frozen))) {
        movedAt[0] = now;
      }
      if (movedAt[1] == 0 && !client.currentBroker().equals(api.get(frozen)) && watch.state() == Watch.State.WATCHING) {
        movedAt[1] = now;
      }
      return movedAt[0] != 0 && movedAt[1] != 0;
    });
    Duration agentMoved = Duration.ofNanos(movedAt[0] - pausedAt);
    Duration watchMoved = Duration.ofNanos(movedAt[1] - pausedAt);

    // a change made while the watch moved reaches it, through the other brokers
    Agent late = closing(LinkBridge.agent().id("agent-b").brokers(order.get(1), order.get(2)).register(orders("o2")).start());
    await().atMost(Duration.ofSeconds(10)).until(() -> events.stream().anyMatch(e -> e.type() == InstanceEvent.Type.ADDED
        && e.instance().id().equals("o2")));

    assertThat(agentMoved).isLessThan(AGENT_BOUND);
    assertThat(watchMoved).isLessThan(WATCH_BOUND);
    assertThat(agent.connectedBrokers()).hasSize(2).doesNotContain(api.get(frozen));
    assertThat(late.connectedBrokers()).isNotEmpty();
    List<Long> revisions = events.stream().map(InstanceEvent::revision).toList();
    assertThat(revisions).isSorted().doesNotHaveDuplicates();
    assertThat(events.stream().filter(e -> e.type() == InstanceEvent.Type.REMOVED)).isEmpty(); // the agent stayed attached
  }
}
