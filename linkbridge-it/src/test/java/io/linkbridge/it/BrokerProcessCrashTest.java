package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.Agent;
import io.linkbridge.FailoverConfig;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeClient;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Brokers as separate processes (Raft + gRPC), killed with SIGKILL under clients and agents. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BrokerProcessCrashTest {
  static final FailoverConfig FAILOVER = FailoverConfig.builder().retryInterval(Duration.ofMillis(500)).maxRetries(3)
      .enableAutoFailover(true).continuousRetry(true).build();

  @TempDir Path dir;
  private final List<Peer> peers = new ArrayList<>();
  private final List<String> api = new ArrayList<>();
  private final BrokerProcess[] brokers = new BrokerProcess[3];
  private final Set<String> acked = ConcurrentHashMap.newKeySet();

  @BeforeEach
  void start() {
    for (int i = 0; i < 3; i++) {
      peers.add(Peer.of("broker-" + (i + 1), "127.0.0.1:" + FreePorts.next()));
      api.add("127.0.0.1:" + FreePorts.next());
    }
    for (int i = 0; i < 3; i++) {
      brokers[i] = BrokerProcess.start(peers.get(i).id(), dir.resolve(peers.get(i).id()), api.get(i), peers, dir.resolve(peers.get(i).id() + ".log"), acked);
    }
    for (BrokerProcess b : brokers) {
      b.awaitReady();
    }
  }

  @AfterEach
  void kill() {
    for (BrokerProcess b : brokers) {
      b.kill();
    }
  }

  private int leader() {
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      for (BrokerProcess b : brokers) {
        if (b.isAlive() && b.status().isLeader()) {
          return true;
        }
      }
      return false;
    });
    for (int i = 0; i < 3; i++) {
      if (brokers[i].isAlive() && brokers[i].status().isLeader()) {
        return i;
      }
    }
    throw new AssertionError("no leader");
  }

  @Test
  void brokerHoldingTheWatchKilled_clientFailsOverWithinRetryIntervalPlusOneRetry_noEventLostRepeatedOrReordered() throws Exception {
    // The client's broker is a follower, so writes go on while it dies: the first event after the kill
    // then measures the client's failover, not a Raft election.
    int leader = leader();
    int held = (leader + 1) % 3;
    int writer = leader;
    int third = 3 - held - writer;
    try (LinkBridgeClient client = LinkBridge.client().brokers(api.get(held), api.get(third), api.get(writer)).failover(FAILOVER).build()) {
      List<InstanceEvent> events = new CopyOnWriteArrayList<>();
      List<Long> arrivals = new CopyOnWriteArrayList<>();
      Watch watch = client.watch("orders", e -> {
        events.add(e);
        arrivals.add(System.nanoTime());
      });
      await().atMost(Duration.ofSeconds(10)).until(() -> events.size() == 1);
      brokers[writer].startWriting("w");
      await().atMost(Duration.ofSeconds(20)).until(() -> events.size() > 100);
      long killed = System.nanoTime();
      brokers[held].kill(); // SIGKILL
      await().atMost(Duration.ofSeconds(20)).until(() -> arrivals.get(arrivals.size() - 1) > killed);
      long firstAfter = arrivals.stream().filter(t -> t > killed).findFirst().orElseThrow();
      await().atMost(Duration.ofSeconds(20)).until(() -> events.size() > 400);
      brokers[writer].stopWriting("w");
      long last = brokers[writer].status().revision();
      await().atMost(Duration.ofSeconds(20)).until(() -> watch.lastRevision() == last);

      long base = events.get(0).revision();
      List<InstanceEvent> changes = events.subList(1, events.size());
      for (int i = 0; i < changes.size(); i++) {
        assertThat(changes.get(i).revision()).as("change %d", i).isEqualTo(base + 1 + i);
      }
      assertThat(changes).extracting(e -> e.instance().id()).doesNotHaveDuplicates();
      // Failover: at once to the next broker, and a write committed every few ms there, so the first
      // event after the kill comes within the retry interval plus one retry.
      assertThat(Duration.ofNanos(firstAfter - killed)).isLessThan(FAILOVER.retryInterval().multipliedBy(2));
    }
  }

  @Test
  void leaderKilledWhileTwentyAgentsRegister_everyAcknowledgedRegistrationOnEverySurvivor() throws Exception {
    int leader = leader();
    List<String> registered = new CopyOnWriteArrayList<>();
    List<Agent> agents = new CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int a = 0; a < 20; a++) {
      int n = a;
      Thread t = new Thread(() -> {
        try {
          Agent agent = LinkBridge.agent().id("agent-" + n).brokers(api.get((n + 1) % 3), api.get((n + 2) % 3), api.get(n % 3))
              .connectTimeout(Duration.ofSeconds(3)).register(ServiceInstance.builder("pay").id("pay-" + n).endpoint("10.1.1.1", 7000 + n).build()).start();
          agents.add(agent);
          registered.add("pay-" + n);
        } catch (RuntimeException e) {
          // not acknowledged: allowed to be missing
        }
      });
      threads.add(t);
      t.start();
      if (a == 7) {
        brokers[leader].kill(); // SIGKILL the leader mid-way
      }
    }
    for (Thread t : threads) {
      t.join(60_000);
    }
    try {
      assertThat(registered).hasSizeGreaterThanOrEqualTo(10);
      for (int i = 0; i < 3; i++) {
        if (i == leader) {
          continue;
        }
        BrokerProcess survivor = brokers[i];
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(survivor.ids()).containsAll(registered));
      }
    } finally {
      agents.forEach(Agent::close);
    }
  }
}
