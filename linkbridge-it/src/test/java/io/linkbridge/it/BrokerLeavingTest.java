package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.linkbridge.Agent;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.ShutdownConfig;
import io.linkbridge.Watch;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker that shuts down gracefully under load (docs/operations.md, "Taking a broker out"): its
 * clients, their {@code linkbridge:} channels and its agents move to the other brokers with no failed
 * call, no lost or repeated event and no instance leaving the registry.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class BrokerLeavingTest {
  private static final int CLIENTS = 10;

  @TempDir Path dir;
  private TestCluster cluster;
  private final List<Server> servers = new ArrayList<>();
  private final List<Integer> ports = new ArrayList<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final List<Thread> callers = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    running.set(false);
    for (Thread t : callers) {
      t.join(5_000);
    }
    for (AutoCloseable c : closeables) {
      c.close();
    }
    servers.forEach(Server::shutdownNow);
    if (cluster != null) {
      cluster.close();
    }
  }

  /** One client: its watch of greeter (checked as events arrive) and a channel calling through the resolver. */
  private static final class Watcher {
    final List<String> problems = new CopyOnWriteArrayList<>();
    final Map<String, ServiceInstance> view = new TreeMap<>();
    final Map<String, Integer> staticSeen = new ConcurrentHashMap<>();
    volatile long lastRevision;
    final AtomicLong calls = new AtomicLong();
    final AtomicLong failures = new AtomicLong();
    LinkBridgeClient client;
    Watch watch;
    ManagedChannel channel;

    synchronized void on(InstanceEvent e) {
      if (e.type() != InstanceEvent.Type.SNAPSHOT && e.revision() <= lastRevision) {
        problems.add("repeated or out of order: " + e.type() + " at " + e.revision() + " after " + lastRevision);
      }
      if (e.type() == InstanceEvent.Type.SNAPSHOT && lastRevision != 0) {
        problems.add("a second snapshot at " + e.revision() + " (the watch did not resume from " + lastRevision + ")");
      }
      lastRevision = e.revision();
      switch (e.type()) {
        case SNAPSHOT -> {
          view.clear();
          e.instances().forEach(i -> view.put(i.id(), i));
        }
        case ADDED, UPDATED, SHUTDOWN_NOTICE -> view.put(e.instance().id(), e.instance());
        case REMOVED -> {
          view.remove(e.instance().id());
          problems.add("removed " + e.instance().id() + " at " + e.revision());
        }
        default -> { }
      }
      ServiceInstance s = view.get("greeter-static");
      if (s != null) {
        int seq = Integer.parseInt(s.metadata().get("seq"));
        Integer previous = staticSeen.put("last", seq);
        if (previous != null && seq != previous && seq != previous + 1) {
          problems.add("greeter-static went from seq " + previous + " to " + seq + ": an update was lost");
        }
      }
    }
  }

  @Test
  void brokerShutsDownUnderLoad_clientsAndAgentsMoveWithNoFailedCallNoLostEventNoRemoval() throws Exception {
    cluster = TestCluster.serving(dir, 3, b -> b.shutdown(ShutdownConfig.DEFAULT.withGracePeriod(Duration.ofSeconds(15)))).start();
    cluster.awaitReady();
    RemovalLog removals = new RemovalLog(List.of(cluster.node(1), cluster.node(2)));
    AtomicInteger served = new AtomicInteger();
    for (int i = 0; i < 2; i++) {
      int port = FreePorts.next();
      ports.add(port);
      ServerInterceptor counting = new ServerInterceptor() {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
          served.incrementAndGet();
          return next.startCall(call, headers);
        }
      };
      servers.add(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
          .addService(ServerInterceptors.intercept(new HealthStatusManager().getHealthService(), counting)).build().start());
    }
    List<Agent> agents = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      // agent-0 knows only the leaving broker: it must move to a broker the notice names, before it leaves this one
      var builder = i == 0 ? LinkBridge.agent().brokers(cluster.api(0)) : LinkBridge.agent().brokers(cluster.api(0), cluster.api(1 + i));
      Agent a = builder.id("agent-" + i)
          .register(ServiceInstance.builder("greeter").id("greeter-" + i).endpoint("127.0.0.1", ports.get(i)).build()).start();
      closeables.add(a);
      agents.add(a);
    }
    Node leaving = cluster.node(0);
    leaving.registry().register(staticInstance(0)).join();
    String brokers = cluster.api(0) + "," + cluster.api(1) + "," + cluster.api(2);
    List<Watcher> watchers = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      Watcher w = new Watcher();
      w.client = LinkBridge.client().brokers(cluster.api(0), cluster.api(1), cluster.api(2)).build();
      closeables.add(w.client);
      w.watch = w.client.watch("greeter", w::on);
      w.channel = Grpc.newChannelBuilder("linkbridge:///greeter?brokers=" + brokers, InsecureChannelCredentials.create())
          .defaultLoadBalancingPolicy("round_robin").build();
      closeables.add(w.channel::shutdownNow);
      watchers.add(w);
    }
    for (Watcher w : watchers) {
      await().atMost(Duration.ofSeconds(20)).until(() -> { synchronized (w) { return w.view.size() == 3; } });
      HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(w.channel);
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
          .until(() -> stub.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()) != null);
      Thread t = new Thread(() -> {
        while (running.get()) {
          try {
            stub.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance());
            w.calls.incrementAndGet();
          } catch (RuntimeException e) {
            w.failures.incrementAndGet();
            w.problems.add("call failed: " + e);
          }
        }
      }, "caller");
      t.setDaemon(true);
      t.start();
      callers.add(t);
    }
    assertThat(watchers).allSatisfy(w -> assertThat(w.client.currentBroker()).isEqualTo(cluster.api(0)));

    AtomicInteger seq = new AtomicInteger();
    Thread writer = new Thread(() -> { // a change every 20 ms through a broker that stays, across the whole shutdown
      while (running.get()) {
        try {
          cluster.node(1).registry().register(staticInstance(seq.incrementAndGet())).join();
        } catch (RuntimeException e) {
          // a write during the leader hand-over may fail; the next one carries a newer seq
        }
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
      }
    }, "writer");
    writer.setDaemon(true);
    writer.start();
    callers.add(writer);
    long callsBefore = watchers.stream().mapToLong(w -> w.calls.get()).sum();
    await().atMost(Duration.ofSeconds(10)).until(() -> watchers.stream().mapToLong(w -> w.calls.get()).sum() > callsBefore + 200);

    long began = System.nanoTime();
    leaving.shutdown();
    assertThat(leaving.awaitTermination(Duration.ofSeconds(30))).isTrue();
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began);
    // the load goes on for a while on the brokers that stay
    int seqAtStop = seq.get();
    long callsAtStop = watchers.stream().mapToLong(w -> w.calls.get()).sum();
    await().atMost(Duration.ofSeconds(10)).until(() -> seq.get() > seqAtStop + 20
        && watchers.stream().mapToLong(w -> w.calls.get()).sum() > callsAtStop + 200);
    running.set(false);
    for (Thread t : callers) {
      t.join(10_000);
    }

    long calls = watchers.stream().mapToLong(w -> w.calls.get()).sum();
    long failed = watchers.stream().mapToLong(w -> w.failures.get()).sum();
    System.out.printf("BrokerLeavingTest: shutdown took %d ms; %d calls, %d failed; %d updates written%n", tookMillis, calls, failed, seq.get());
    assertThat(failed).as("failed calls").isZero();
    long last = cluster.node(1).registry().revision();
    for (Watcher w : watchers) {
      await().atMost(Duration.ofSeconds(10)).until(() -> w.lastRevision >= last);
      assertThat(w.problems).isEmpty();
      synchronized (w) {
        assertThat(w.view).isEqualTo(byId(cluster.node(1).registry().instances("greeter")));
      }
      assertThat(w.client.currentBroker()).isNotEqualTo(cluster.api(0));
    }
    for (Agent a : agents) {
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(a.connectedBrokers()).isNotEmpty().doesNotContain(cluster.api(0)));
    }
    assertThat(removals.removals).as("instances removed or agents DEAD").isEmpty();
  }

  private static Map<String, ServiceInstance> byId(List<ServiceInstance> instances) {
    Map<String, ServiceInstance> m = new TreeMap<>();
    instances.forEach(i -> m.put(i.id(), i));
    return m;
  }

  private static ServiceInstance staticInstance(int seq) {
    return ServiceInstance.builder("greeter").id("greeter-static").endpoint("127.0.0.1", 1).weight(0).metadata("seq", Integer.toString(seq)).build();
  }
}
