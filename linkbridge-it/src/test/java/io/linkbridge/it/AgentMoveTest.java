package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import io.linkbridge.ShutdownConfig;
import io.linkbridge.grpc.internal.GrpcAgent;
import io.linkbridge.registry.RegistryEvent;
import io.linkbridge.spi.AgentSpec;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java agent against real brokers while it moves to another broker: a change made while the
 * agent registers with the new broker must never be overtaken by that registration, whose content
 * is older. Each test changes one instance continuously (a metadata seq, one up per change) and
 * checks on a broker that stays that the registry never goes back to an older seq.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class AgentMoveTest {
  @TempDir Path dir;
  private TestCluster cluster;
  private GrpcAgent agent;
  private Thread changer;
  private final AtomicBoolean changing = new AtomicBoolean(true);
  /** The seq of the last change the agent acknowledged. */
  private final AtomicInteger acknowledged = new AtomicInteger();
  private final List<String> wentBack = new CopyOnWriteArrayList<>();
  private int lastSeen; // on the apply thread of broker 3

  @AfterEach
  void stop() throws Exception {
    changing.set(false);
    if (changer != null) {
      changer.join(10_000);
    }
    if (agent != null) {
      agent.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void brokerShutsDownGracefully_changesMadeWhileTheAgentRegistersElsewhere_neverGoBack() throws Exception {
    startChangingAgent();

    cluster.node(0).shutdown(); // BrokerLeaving: the agent registers with broker 3, then ends its stream to broker 1

    awaitMovedTo(cluster.api(1), cluster.api(2));
    assertThat(cluster.node(0).awaitTermination(Duration.ofSeconds(30))).isTrue();
    assertNeverWentBack();
  }

  @Test
  void brokerStops_changesMadeWhileTheAgentReconnectsElsewhere_neverGoBack() throws Exception {
    startChangingAgent();

    int stopped = cluster.leaderIndex().orElse(0) == 0 ? 1 : 0; // a follower: the others commit on at once
    cluster.kill(stopped); // the stream breaks: the agent connects to broker 3

    awaitMovedTo(cluster.api(1 - stopped), cluster.api(2));
    assertNeverWentBack();
  }

  /** Three brokers; the agent holds brokers 1 and 2 and changes its instance as fast as they commit. */
  private void startChangingAgent() {
    cluster = TestCluster.serving(dir, 3, b -> b.shutdown(ShutdownConfig.DEFAULT.withGracePeriod(Duration.ofSeconds(5)))).start();
    cluster.node(2).registry().subscribe(seqOf("g1", seq -> {
      if (seq < lastSeen) {
        wentBack.add("seq " + seq + " after " + lastSeen);
      }
      lastSeen = seq;
    }));
    List<HostAndPort> brokers = List.of(0, 1, 2).stream().map(i -> HostAndPort.parse("broker", cluster.api(i))).toList();
    agent = GrpcAgent.start(new AgentSpec("agent-a", brokers, List.of(greeter(0)), Duration.ofSeconds(5), Duration.ofMillis(50),
        Duration.ofMillis(500)));
    await().atMost(Duration.ofSeconds(10)).until(() -> agent.connectedBrokers().equals(List.of(cluster.api(0), cluster.api(1))));
    changer = new Thread(() -> {
      int seq = 1;
      while (changing.get()) {
        try {
          agent.register(greeter(seq));
          acknowledged.set(seq++);
        } catch (RuntimeException e) {
          // not acknowledged (no broker stream for a moment): the same seq again
        }
      }
    }, "changer");
    changer.setDaemon(true);
    changer.start();
    int before = acknowledged.get();
    await().atMost(Duration.ofSeconds(10)).until(() -> acknowledged.get() > before + 20);
  }

  /** Waits until the agent holds exactly {@code brokers} and made more changes there. */
  private void awaitMovedTo(String... brokers) {
    await().atMost(Duration.ofSeconds(20)).until(() -> agent.connectedBrokers().equals(List.of(brokers)));
    int moved = acknowledged.get();
    await().atMost(Duration.ofSeconds(10)).until(() -> acknowledged.get() > moved + 20);
  }

  private void assertNeverWentBack() throws InterruptedException {
    changing.set(false);
    changer.join(10_000);
    int last = acknowledged.get();
    await().atMost(Duration.ofSeconds(10)).until(() -> seqIn(cluster.node(2).registry().instances("greeter")) == last);
    assertThat(wentBack).as("the registry went back to older content of the instance").isEmpty();
  }

  private static Consumer<RegistryEvent> seqOf(String id, Consumer<Integer> seqs) {
    return e -> {
      if ((e.type() == RegistryEvent.Type.INSTANCE_REGISTERED || e.type() == RegistryEvent.Type.INSTANCE_UPDATED) && e.instance().id().equals(id)) {
        seqs.accept(Integer.parseInt(e.instance().metadata().get("seq")));
      }
    };
  }

  private static int seqIn(List<ServiceInstance> instances) {
    return instances.stream().filter(i -> i.id().equals("g1")).mapToInt(i -> Integer.parseInt(i.metadata().get("seq"))).findFirst().orElse(-1);
  }

  private static ServiceInstance greeter(int seq) {
    return ServiceInstance.builder("greeter").id("g1").endpoint("127.0.0.1", 9000).agentId("agent-a").metadata("seq", Integer.toString(seq)).build();
  }
}
