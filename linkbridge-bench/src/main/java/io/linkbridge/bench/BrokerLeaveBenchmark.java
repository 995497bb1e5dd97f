package io.linkbridge.bench;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.linkbridge.Agent;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.BrokerProcess;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A graceful broker shutdown under load, brokers as separate processes: the leaving broker holds
 * {@code --watchers} watches (over 20 clients) and {@code --agents} agents whose instances change every
 * 500 ms, while 10 {@code linkbridge:} channels call those instances. Measures the time from
 * the shutdown until every client and agent is on another broker, and until the broker process has
 * terminated; counts events lost or repeated and calls failed (both must be 0).
 *
 * <pre>
 * mvn -B -q -DskipTests install
 * mvn -B -q -pl linkbridge-bench exec:java -Dexec.mainClass=io.linkbridge.bench.BrokerLeaveBenchmark \
 *     -Dexec.args="--runs 3 --watchers 1000 --agents 20"
 * </pre>
 */
public final class BrokerLeaveBenchmark {
  private static final int CLIENTS = 20;
  private static final int CHANNELS = 10;
  /** How often each agent changes its instance: changes to lose during the move, if any were lost. */
  private static final long CHANGE_MILLIS = 500;

  record Result(long movedMillis, long terminatedMillis, long lost, long repeated, long calls, long failedCalls) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchSupport.options(args, Map.of("--runs", "3", "--watchers", "1000", "--agents", "20"));
    int runs = Integer.parseInt(opts.get("--runs"));
    int watchers = Integer.parseInt(opts.get("--watchers"));
    int agents = Integer.parseInt(opts.get("--agents"));
    Path root = BenchSupport.scratch(opts, "linkbridge-leave");
    System.out.printf("workload: 3 broker processes; the leaving one holds %d watches (%d clients), %d agents changing every %d ms,"
        + " %d linkbridge: channels calling; %d runs%n", watchers, CLIENTS, agents, CHANGE_MILLIS, CHANNELS, runs);
    List<Result> results = new ArrayList<>();
    for (int run = 1; run <= runs; run++) {
      Result r = run(root.resolve("run-" + run), watchers, agents);
      results.add(r);
      System.out.printf("run %d: all moved after %d ms, broker terminated after %d ms; events lost %d, repeated %d; calls %d, failed %d%n",
          run, r.movedMillis(), r.terminatedMillis(), r.lost(), r.repeated(), r.calls(), r.failedCalls());
    }
    System.out.println();
    System.out.println("| all moved, ms (median) | broker terminated, ms (median) | events lost | repeated | calls failed / made | runs (moved ms) |");
    System.out.println("|---:|---:|---:|---:|---:|---|");
    System.out.printf("| %.0f | %.0f | %d | %d | %d / %d | %s |%n",
        BenchSupport.median(results.stream().mapToDouble(Result::movedMillis).toArray()),
        BenchSupport.median(results.stream().mapToDouble(Result::terminatedMillis).toArray()),
        results.stream().mapToLong(Result::lost).sum(), results.stream().mapToLong(Result::repeated).sum(),
        results.stream().mapToLong(Result::failedCalls).sum(), results.stream().mapToLong(Result::calls).sum(),
        results.stream().map(Result::movedMillis).toList());
    BenchSupport.deleteRecursively(root);
    System.exit(0);
  }

  /** One watch's check of what it receives: per instance, every metadata seq once, in order. */
  static final AtomicLong REVERTED = new AtomicLong();

  private static final class Checked {
    final Map<String, Integer> seq = new HashMap<>();
    long lastRevision;

    synchronized void on(InstanceEvent e, AtomicLong lost, AtomicLong repeated) {
      if (e.type() != InstanceEvent.Type.SNAPSHOT && e.revision() <= lastRevision) {
        repeated.incrementAndGet();
        return;
      }
      lastRevision = e.revision();
      List<ServiceInstance> changed = e.type() == InstanceEvent.Type.SNAPSHOT ? e.instances() : List.of(e.instance());
      for (ServiceInstance i : changed) {
        int s = Integer.parseInt(i.metadata().getOrDefault("seq", "0"));
        Integer previous = seq.put(i.id(), s);
        if (previous != null && e.type() != InstanceEvent.Type.SNAPSHOT && s > previous + 1) {
          lost.addAndGet(s - previous - 1); // a change committed in between never reached this watch
        }
        if (previous != null && s < previous) {
          REVERTED.incrementAndGet(); // the registry went back to older content of the instance
        }
      }
    }
  }

  private static Result run(Path dir, int watchers, int agentCount) throws Exception {
    Files.createDirectories(dir);
    List<Peer> peers = new ArrayList<>();
    List<String> apis = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      peers.add(Peer.of("broker-" + i, "127.0.0.1:" + Ports.free()));
      apis.add("127.0.0.1:" + Ports.free());
    }
    List<BrokerProcess> brokers = new ArrayList<>();
    List<AutoCloseable> closing = new ArrayList<>();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong refused = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    Set<String> acked = ConcurrentHashMap.newKeySet();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", Ports.free()))
        .addService(new HealthStatusManager().getHealthService()).build().start();
    try {
      for (int i = 0; i < 3; i++) {
        brokers.add(BrokerProcess.start(peers.get(i).id(), dir.resolve(peers.get(i).id()), apis.get(i),
            List.of("electionTimeout=1s", "heartbeatInterval=100ms", "gracePeriod=30s"), peers, dir.resolve(peers.get(i).id() + ".log"), acked));
      }
      brokers.forEach(BrokerProcess::awaitReady);
      String leaving = apis.get(0);
      List<Agent> agents = new ArrayList<>();
      for (int a = 0; a < agentCount; a++) {
        ServiceInstance first = instance(a, 0, server.getPort());
        Agent agent = LinkBridge.agent().id("agent-" + a).brokers(leaving, apis.get(1 + a % 2)).register(first).start();
        closing.add(agent);
        agents.add(agent);
        int n = a;
        Thread t = new Thread(() -> { // each agent's instance changes every 100 ms: events to lose, if any were
          for (int s = 1; running.get(); s++) {
            try {
              agent.register(instance(n, s, server.getPort()));
            } catch (RuntimeException e) {
              s--; // not taken (or not known to be): the same seq again, so a later seq never skips one
              refused.incrementAndGet();
            }
            try {
              TimeUnit.MILLISECONDS.sleep(CHANGE_MILLIS);
            } catch (InterruptedException e) {
              return;
            }
          }
        }, "changes-" + a);
        t.setDaemon(true);
        threads.add(t);
      }
      AtomicLong lost = new AtomicLong();
      AtomicLong repeated = new AtomicLong();
      List<LinkBridgeClient> clients = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        LinkBridgeClient client = LinkBridge.client().brokers(leaving, apis.get(1), apis.get(2)).build();
        closing.add(client);
        clients.add(client);
      }
      for (int w = 0; w < watchers; w++) {
        Checked checked = new Checked();
        closing.add(clients.get(w % CLIENTS).watch("greeter", e -> checked.on(e, lost, repeated)));
      }
      AtomicLong calls = new AtomicLong();
      AtomicLong failed = new AtomicLong();
      for (int c = 0; c < CHANNELS; c++) {
        ManagedChannel channel = Grpc.newChannelBuilder("linkbridge:///greeter?brokers=" + String.join(",", apis), InsecureChannelCredentials.create())
            .defaultLoadBalancingPolicy("round_robin").build();
        closing.add(channel::shutdownNow);
        HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel);
        stub.withDeadlineAfter(20, TimeUnit.SECONDS).withWaitForReady().check(HealthCheckRequest.getDefaultInstance());
        Thread t = new Thread(() -> {
          while (running.get()) {
            try {
              stub.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance());
              calls.incrementAndGet();
            } catch (RuntimeException e) {
              failed.incrementAndGet();
            }
          }
        }, "caller-" + c);
        t.setDaemon(true);
        threads.add(t);
      }
      threads.forEach(Thread::start);
      BenchSupport.awaitCount(() -> (int) clients.stream().filter(c -> c.currentBroker().equals(leaving)).count(), CLIENTS, "clients on the leaving broker");
      TimeUnit.SECONDS.sleep(3); // load running

      long began = System.nanoTime();
      AtomicLong movedAt = new AtomicLong();
      Thread watcher = new Thread(() -> {
        while (movedAt.get() == 0) {
          boolean moved = clients.stream().noneMatch(c -> c.currentBroker().equals(leaving))
              && agents.stream().noneMatch(a -> a.connectedBrokers().contains(leaving));
          if (moved) {
            movedAt.set(System.nanoTime());
          }
          try {
            TimeUnit.MILLISECONDS.sleep(5);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "moved");
      watcher.start();
      brokers.get(0).shutdownGracefully();
      long terminated = System.nanoTime();
      watcher.join(30_000);
      TimeUnit.SECONDS.sleep(3); // load goes on against the other two
      running.set(false);
      for (Thread t : threads) {
        t.join(10_000);
      }
      System.out.printf("  changes not acknowledged (retried with the same seq): %d; instance content went back: %d%n", refused.get(), REVERTED.getAndSet(0));
      return new Result(TimeUnit.NANOSECONDS.toMillis(movedAt.get() - began), TimeUnit.NANOSECONDS.toMillis(terminated - began), lost.get(),
          repeated.get(), calls.get(), failed.get());
    } finally {
      running.set(false);
      for (AutoCloseable c : closing) {
        c.close();
      }
      server.shutdownNow();
      brokers.forEach(BrokerProcess::close);
    }
  }

  private static ServiceInstance instance(int agent, int seq, int port) {
    return ServiceInstance.builder("greeter").id("greeter-" + agent).endpoint("127.0.0.1", port).metadata("seq", Integer.toString(seq)).build();
  }
}
