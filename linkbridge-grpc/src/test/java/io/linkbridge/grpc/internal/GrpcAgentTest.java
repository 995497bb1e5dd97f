package io.linkbridge.grpc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.grpc.Status;
import io.linkbridge.HostAndPort;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.spi.AgentSpec;
import io.linkbridge.testing.NodeLeakCheck;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The Java agent against scripted brokers speaking the agent protocol (BrokerLeaving, Ping.interval_millis). */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class GrpcAgentTest {
  static final long PING_MILLIS = 100;

  private final List<String> log = new CopyOnWriteArrayList<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  private FakeAgentBroker broker(String name) {
    FakeAgentBroker b = new FakeAgentBroker(name, log, PING_MILLIS);
    closeables.add(b);
    return b;
  }

  private static ServiceInstance greeter(String id) {
    return ServiceInstance.builder("greeter").id(id).endpoint("127.0.0.1", 9000).agentId("agent-a").build();
  }

  private GrpcAgent agent(Duration connectTimeout, String... brokers) {
    GrpcAgent a = GrpcAgent.start(new AgentSpec("agent-a", List.of(brokers).stream().map(b -> HostAndPort.parse("broker", b)).toList(),
        List.of(greeter("g1")), connectTimeout, Duration.ofMillis(100), Duration.ofMillis(500)));
    closeables.add(0, a);
    return a;
  }

  @Test
  void brokerLeaving_agentRegistersWithAnotherBrokerBeforeItEndsTheLeavingStream() {
    FakeAgentBroker b1 = broker("B1");
    FakeAgentBroker b2 = broker("B2");
    GrpcAgent agent = agent(Duration.ofSeconds(2), b1.address()); // one broker of its own: it learns B2 from the notice

    b1.sendLeaving(b2.address());

    await().atMost(Duration.ofSeconds(5)).until(() -> agent.connectedBrokers().equals(List.of(b2.address())));
    await().during(Duration.ofMillis(700)).atMost(Duration.ofSeconds(3)).until(() -> agent.connectedBrokers().equals(List.of(b2.address())));
    assertThat(log).containsSubsequence("B1 register", "B2 register", "B1 end"); // make before break
    assertThat(log.indexOf("B2 register")).isLessThan(log.indexOf("B1 end"));
  }

  @Test
  void brokerSilentForThreePingIntervals_agentMovesToAnotherBroker_thenClosesTheSilentStream() {
    FakeAgentBroker b1 = broker("B1");
    FakeAgentBroker b2 = broker("B2");
    FakeAgentBroker b3 = broker("B3");
    GrpcAgent agent = agent(Duration.ofSeconds(2), b1.address(), b2.address(), b3.address());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.connectedBrokers().size() == 2);
    await().atMost(Duration.ofSeconds(5)).until(() -> log.stream().noneMatch(l -> l.startsWith("B3"))); // holds B1 and B2
    long frozen = System.nanoTime();
    b1.pinging = false; // frozen: the stream stays open, nothing comes

    await().atMost(Duration.ofSeconds(5)).until(() -> agent.connectedBrokers().equals(List.of(b2.address(), b3.address())));
    Duration moved = Duration.ofNanos(System.nanoTime() - frozen);
    await().atMost(Duration.ofSeconds(5)).until(() -> log.contains("B1 end")); // the fake broker sees the end a moment after the agent sent it

    assertThat(log.indexOf("B3 register")).isLessThan(log.indexOf("B1 end"));
    assertThat(moved).isLessThan(Duration.ofMillis(PING_MILLIS * GrpcAgent.SILENT_PINGS + 1500));
  }

  @Test
  void instancesAndRegister_doNotWaitBehindAConnectToABlackHoledBroker() throws Exception {
    FakeAgentBroker b1 = broker("B1");
    try (BlackHole hole = new BlackHole()) {
      GrpcAgent agent = agent(Duration.ofSeconds(3), b1.address(), hole.address()); // start waits 3s for the hole, then keeps trying
      await().atMost(Duration.ofSeconds(10)).until(() -> hole.accepted.size() >= 2); // a reconnect to the hole is under way now

      assertTimeoutPreemptively(Duration.ofMillis(1000), () -> {
        assertThat(agent.instances()).extracting(ServiceInstance::id).containsExactly("g1");
        agent.register(greeter("g2"));
        agent.drain("greeter", "g2");
        agent.deregister("greeter", "g2");
      });
    }
  }

  @Test
  void refusalWithFailedPrecondition_isAgentDead_refusalWithNotFound_isNotFound() {
    FakeAgentBroker b1 = broker("B1");
    GrpcAgent agent = agent(Duration.ofSeconds(2), b1.address());
    b1.answer = m -> m.hasUpdate() ? Status.FAILED_PRECONDITION.withDescription("agent agent-a is DEAD") : "ack";
    assertThatThrownBy(() -> agent.register(greeter("g2"))).isInstanceOf(RegistrationRejectedException.class)
        .extracting(e -> ((RegistrationRejectedException) e).reason()).isEqualTo(RegistrationRejectedException.Reason.AGENT_DEAD);
    assertThat(agent.instances()).extracting(ServiceInstance::id).containsExactly("g1"); // unchanged

    await().atMost(Duration.ofSeconds(5)).until(() -> agent.connectedBrokers().size() == 1); // it reconnected
    b1.answer = m -> m.hasDeregister() ? Status.NOT_FOUND.withDescription("no instance g1") : "ack";
    assertThatThrownBy(() -> agent.deregister("greeter", "g1")).isInstanceOf(RegistrationRejectedException.class)
        .extracting(e -> ((RegistrationRejectedException) e).reason()).isEqualTo(RegistrationRejectedException.Reason.NOT_FOUND);
  }

  /**
   * The brokers order the agent's messages by run and version (a Register that commits late cannot
   * bring back older content): every change is one more, a Register carries its content's version.
   */
  @Test
  void everyMessageCarriesTheRunAndItsVersion_aLaterRegisterTheVersionOfItsContent() {
    FakeAgentBroker b1 = broker("B1");
    FakeAgentBroker b2 = broker("B2");
    List<AgentMessage> toB1 = new CopyOnWriteArrayList<>();
    List<AgentMessage> toB2 = new CopyOnWriteArrayList<>();
    b1.answer = m -> {
      toB1.add(m);
      return "ack";
    };
    b2.answer = m -> {
      toB2.add(m);
      return m.hasUpdate() ? Status.UNAVAILABLE.withDescription("lost") : "ack"; // its stream breaks at the first change
    };
    GrpcAgent agent = agent(Duration.ofSeconds(2), b1.address(), b2.address());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.connectedBrokers().size() == 2);
    agent.register(greeter("g2"));
    await().atMost(Duration.ofSeconds(5)).until(() -> toB2.stream().filter(AgentMessage::hasRegister).count() == 2); // registered again
    agent.deregister("greeter", "g2");
    agent.close();

    String run = toB1.get(0).getRegister().getIncarnation();
    assertThat(run).isNotEmpty();
    assertThat(toB1).extracting(m -> m.getKindCase().name().toLowerCase() + "@" + m.getVersion()).startsWith("register@0", "update@1")
        .contains("shutdown_notice@3", "deregister@4");
    AgentMessage again = toB2.stream().filter(AgentMessage::hasRegister).skip(1).findFirst().orElseThrow();
    assertThat(again.getVersion()).isEqualTo(1); // what it lists is the content after the change at 1
    assertThat(again.getRegister().getInstancesList()).extracting(i -> i.getId()).containsExactly("g1", "g2");
    assertThat(toB2).allSatisfy(m -> {
      if (m.hasRegister()) {
        assertThat(m.getRegister().getIncarnation()).isEqualTo(run);
      }
    });
  }

  @Test
  void shutdownWhileAConnectWaitsForItsAck_closesThatStream() {
    FakeAgentBroker b1 = broker("B1");
    FakeAgentBroker slow = broker("SLOW");
    slow.answer = m -> null; // never acknowledges
    GrpcAgent agent = agent(Duration.ofSeconds(1), b1.address(), slow.address());
    await().atMost(Duration.ofSeconds(10)).until(() -> slow.streams.size() >= 2 && slow.open() == 1); // a reconnect waits for its ack

    agent.close();

    await().atMost(Duration.ofSeconds(5)).until(() -> slow.open() == 0 && b1.open() == 0);
  }

  /** Accepts TCP connections and never says a word, like a broker behind a black-holing firewall or frozen. */
  static final class BlackHole implements AutoCloseable {
    final ServerSocket socket;
    final List<Socket> accepted = new CopyOnWriteArrayList<>();

    BlackHole() throws IOException {
      socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread t = new Thread(() -> {
        try {
          while (true) {
            accepted.add(socket.accept());
          }
        } catch (IOException e) {
          // closed
        }
      }, "test-black-hole");
      t.setDaemon(true);
      t.start();
    }

    String address() {
      return "127.0.0.1:" + socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      socket.close();
      for (Socket s : accepted) {
        s.close();
      }
    }
  }
}
