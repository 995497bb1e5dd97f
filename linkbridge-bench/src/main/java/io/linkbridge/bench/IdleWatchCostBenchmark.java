package io.linkbridge.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.linkbridge.Peer;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.grpc.v1.WatchRequest;
import io.linkbridge.testing.BrokerProcess;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What idle watches of other services cost the writes: three broker processes on loopback, a writer
 * inside the leader's process (16 registrations in flight), measured for a while with no watch, then
 * with {@code --watches} idle watches of other services spread over the three brokers. An applied
 * change looks up only its own service's watches, so the two rates should match.
 *
 * <pre>
 * mvn -B -q -DskipTests install
 * mvn -B -q -pl linkbridge-bench exec:java -Dexec.mainClass=io.linkbridge.bench.IdleWatchCostBenchmark \
 *     -Dexec.args="--runs 3 --watches 10000 --seconds 10"
 * </pre>
 *
 * <p>{@code --progress-millis} sets the watches' progress interval (0: the broker's default, 5 s).
 */
public final class IdleWatchCostBenchmark {
  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchSupport.options(args, Map.of("--runs", "3", "--watches", "10000", "--seconds", "10",
        "--progress-millis", "0"));
    int runs = Integer.parseInt(opts.get("--runs"));
    int watches = Integer.parseInt(opts.get("--watches"));
    int seconds = Integer.parseInt(opts.get("--seconds"));
    long progressMillis = Long.parseLong(opts.get("--progress-millis"));
    Path root = BenchSupport.scratch(opts, "linkbridge-idle-watches");
    System.out.printf("workload: 3 broker processes, a writer in the leader's process (16 in flight) for %d s, with 0 and then %d idle"
        + " watches of other services (progress interval %s); %d runs; %s, %d cores%n", seconds, watches,
        progressMillis == 0 ? "the broker's default" : progressMillis + " ms", runs, BenchSupport.cpuModel(),
        Runtime.getRuntime().availableProcessors());
    List<double[]> results = new ArrayList<>();
    for (int run = 1; run <= runs; run++) {
      results.add(run(root.resolve("run-" + run), watches, seconds, progressMillis, run));
    }
    double none = BenchSupport.median(results.stream().mapToDouble(r -> r[0]).toArray());
    double idle = BenchSupport.median(results.stream().mapToDouble(r -> r[1]).toArray());
    System.out.println();
    System.out.println("| watches of other services | writes/s (median of " + runs + ") | runs |");
    System.out.println("|---:|---:|---|");
    System.out.printf("| 0 | %.0f | %s |%n", none, results.stream().map(r -> String.format("%.0f", r[0])).toList());
    System.out.printf("| %d | %.0f | %s |%n", watches, idle, results.stream().map(r -> String.format("%.0f", r[1])).toList());
    System.out.printf("ratio without / with: %.2f%n", none / idle);
    BenchSupport.deleteRecursively(root);
    System.exit(0);
  }

  private static double[] run(Path dir, int watches, int seconds, long progressMillis, int run) throws Exception {
    List<Peer> peers = new ArrayList<>();
    List<String> apis = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      peers.add(Peer.of("broker-" + i, "127.0.0.1:" + Ports.free()));
      apis.add("127.0.0.1:" + Ports.free());
    }
    java.nio.file.Files.createDirectories(dir);
    Set<String> acked = ConcurrentHashMap.newKeySet();
    List<BrokerProcess> brokers = new ArrayList<>();
    List<ManagedChannel> channels = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        brokers.add(BrokerProcess.start(peers.get(i).id(), dir.resolve(peers.get(i).id()), apis.get(i),
            List.of("electionTimeout=1s", "heartbeatInterval=100ms"), peers, dir.resolve(peers.get(i).id() + ".log"), acked));
      }
      brokers.forEach(BrokerProcess::awaitReady);
      BrokerProcess leader = brokers.stream().filter(b -> b.status().isLeader()).findFirst().orElse(brokers.get(0));
      measure(leader, acked, "warmup", seconds / 2 + 1);
      double none = measure(leader, acked, "none", seconds);

      AtomicInteger opened = new AtomicInteger();
      for (int c = 0; c < 30; c++) {
        String[] hp = apis.get(c % 3).split(":");
        channels.add(NettyChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().build());
      }
      for (int w = 0; w < watches; w++) {
        DiscoveryServiceGrpc.newStub(channels.get(w % channels.size())).watch(WatchRequest.newBuilder().setService("idle-" + (w % 500))
            .setProgressIntervalMillis(progressMillis).build(),
            new StreamObserver<WatchEvent>() {
              private boolean first = true;

              @Override
              public void onNext(WatchEvent e) {
                if (first) {
                  first = false;
                  opened.incrementAndGet();
                }
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
      }
      BenchSupport.awaitCount(opened::get, watches, "idle watches opened");
      double idle = measure(leader, acked, "idle", seconds);
      System.out.printf("run %d: %.0f writes/s with no watch, %.0f with %d idle watches of other services%n", run, none, idle, watches);
      return new double[] {none, idle};
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
      brokers.forEach(BrokerProcess::close);
    }
  }

  private static double measure(BrokerProcess leader, Set<String> acked, String prefix, int seconds) throws InterruptedException {
    long before = acked.stream().filter(a -> a.startsWith(prefix + "-")).count();
    long began = System.nanoTime();
    leader.startWriting(prefix);
    TimeUnit.SECONDS.sleep(seconds);
    long count = acked.stream().filter(a -> a.startsWith(prefix + "-")).count() - before;
    double elapsed = (System.nanoTime() - began) / 1e9;
    leader.stopWriting(prefix);
    return count / elapsed;
  }
}
