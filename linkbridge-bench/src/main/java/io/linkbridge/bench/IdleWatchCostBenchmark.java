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
 * inside the leader's process (16 registrations in flight). After a warm-up, the write rate is
 * measured with no watch, right after {@code --watches} idle watches of other services are opened
 * over the three brokers, once they have settled, with no watch again (as long after as "before" was
 * before: the brokers keep getting faster for minutes, so "no watch" is the mean of the two), and
 * right after the watches are opened again on the now warm brokers. An applied change looks up only
 * its own service's watches, so the rates with and without watches should match. The brokers' and
 * this JVM's CPU with no writer, with and without the watches, say what holding them costs.
 *
 * <pre>
 * mvn -B -q -DskipTests install
 * mvn -B -q -pl linkbridge-bench exec:java -Dexec.mainClass=io.linkbridge.bench.IdleWatchCostBenchmark \
 *     -Dexec.args="--runs 3 --watches 10000 --seconds 10"
 * </pre>
 *
 * <p>{@code --progress-millis} sets the watches' progress interval (0: the broker's default, 5 s; the
 * Java client asks for 1 s); {@code --settle} the seconds with no writer after opening the watches.
 */
public final class IdleWatchCostBenchmark {
  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchSupport.options(args, Map.of("--runs", "3", "--watches", "10000", "--seconds", "10",
        "--progress-millis", "0", "--settle", "15"));
    int runs = Integer.parseInt(opts.get("--runs"));
    int watches = Integer.parseInt(opts.get("--watches"));
    int seconds = Integer.parseInt(opts.get("--seconds"));
    long progressMillis = Long.parseLong(opts.get("--progress-millis"));
    int settle = Integer.parseInt(opts.get("--settle"));
    Path root = BenchSupport.scratch(opts, "linkbridge-idle-watches");
    System.out.printf("workload: 3 broker processes, a writer in the leader's process (16 in flight) for %d s, with 0 and then %d idle"
        + " watches of other services (progress interval %s); %d runs; %s, %d cores%n", seconds, watches,
        progressMillis == 0 ? "the broker's default" : progressMillis + " ms", runs, BenchSupport.cpuModel(),
        Runtime.getRuntime().availableProcessors());
    List<double[]> results = new ArrayList<>();
    for (int run = 1; run <= runs; run++) {
      results.add(run(root.resolve("run-" + run), watches, seconds, settle, progressMillis, run));
    }
    double none = BenchSupport.median(results.stream().mapToDouble(r -> r[0]).toArray());
    double idle = BenchSupport.median(results.stream().mapToDouble(r -> r[1]).toArray());
    System.out.println();
    System.out.println("| watches of other services | writes/s (median of " + runs + ") | runs |");
    System.out.println("|---:|---:|---|");
    System.out.printf("| 0 | %.0f | %s |%n", none, results.stream().map(r -> String.format("%.0f", r[0])).toList());
    System.out.printf("| %d | %.0f | %s |%n", watches, idle, results.stream().map(r -> String.format("%.0f", r[1])).toList());
    System.out.printf("ratio without / with: %.2f (right after opening the watches: %.2f; right after opening them again: %.2f)%n",
        none / idle, none / median(results, 6), none / median(results, 7));
    System.out.printf("CPU with no writer, median (cores): brokers %.3f without watches, %.3f with; load generator %.3f, %.3f%n",
        median(results, 2), median(results, 3), median(results, 4), median(results, 5));
    BenchSupport.deleteRecursively(root);
    System.exit(0);
  }

  private static double[] run(Path dir, int watches, int seconds, int settle, long progressMillis, int run) throws Exception {
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
      measure(leader, acked, "warmup", 3 * seconds); // the JIT compiles the write path; the heap grows to its working size
      double before = measure(leader, acked, "none-before", seconds);
      double[] cpuNone = idleCpu(brokers, settle);

      openWatches(channels, apis, watches, progressMillis);
      double opening = measure(leader, acked, "opened", seconds); // right after the opening: its garbage, the JIT of the watch path
      double[] cpuIdle = idleCpu(brokers, settle);
      double idle = measure(leader, acked, "idle", seconds);
      for (ManagedChannel c : channels) {
        c.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
      channels.clear();
      idleCpu(brokers, settle + seconds); // as long as from the first measure to the one with watches
      double after = measure(leader, acked, "none-after", seconds);
      double none = (before + after) / 2;
      openWatches(channels, apis, watches, progressMillis); // a reconnect storm on warm brokers
      double reopening = measure(leader, acked, "reopened", seconds);
      System.out.printf("run %d: %.0f writes/s with no watch (%.0f before, %.0f after), %.0f with %d idle watches of other services"
          + " (%.0f right after opening them, %.0f right after opening them again); CPU with no writer (cores): brokers %.3f -> %.3f,"
          + " load generator %.3f -> %.3f%n",
          run, none, before, after, idle, watches, opening, reopening, cpuNone[0], cpuIdle[0], cpuNone[1], cpuIdle[1]);
      return new double[] {none, idle, cpuNone[0], cpuIdle[0], cpuNone[1], cpuIdle[1], opening, reopening};
    } finally {
      channels.forEach(ManagedChannel::shutdownNow);
      brokers.forEach(BrokerProcess::close);
    }
  }

  /** Opens {@code watches} idle watches of 500 services ({@code idle-*}) over 30 new channels, and waits for each one's first message. */
  private static void openWatches(List<ManagedChannel> channels, List<String> apis, int watches, long progressMillis)
      throws InterruptedException {
    AtomicInteger opened = new AtomicInteger();
    for (int c = 0; c < 30; c++) {
      String[] hp = apis.get(c % 3).split(":");
      // events are counted on the transport thread: the load generator stays light on the shared cores
      channels.add(NettyChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().directExecutor().build());
    }
    for (int w = 0; w < watches; w++) {
      DiscoveryServiceGrpc.newStub(channels.get(channels.size() - 1 - w % 30)).watch(WatchRequest.newBuilder().setService("idle-" + (w % 500))
          .setProgressIntervalMillis(progressMillis).build(), new StreamObserver<WatchEvent>() {
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
  }

  private static double median(List<double[]> results, int column) {
    return BenchSupport.median(results.stream().mapToDouble(r -> r[column]).toArray());
  }

  /** Cores used with no writer for {@code seconds}: {all brokers, this JVM}. */
  private static double[] idleCpu(List<BrokerProcess> brokers, int seconds) throws Exception {
    long began = System.nanoTime();
    long brokersBefore = 0;
    for (BrokerProcess b : brokers) {
      brokersBefore += cpuTicks(b.pid());
    }
    long selfBefore = cpuTicks(ProcessHandle.current().pid());
    TimeUnit.SECONDS.sleep(seconds);
    long brokersAfter = 0;
    for (BrokerProcess b : brokers) {
      brokersAfter += cpuTicks(b.pid());
    }
    long self = cpuTicks(ProcessHandle.current().pid()) - selfBefore;
    double elapsed = (System.nanoTime() - began) / 1e9;
    double ticksPerSecond = 100; // USER_HZ on Linux
    return new double[] {(brokersAfter - brokersBefore) / ticksPerSecond / elapsed, self / ticksPerSecond / elapsed};
  }

  /** utime + stime of a process, in clock ticks, from /proc. */
  private static long cpuTicks(long pid) throws java.io.IOException {
    String stat = java.nio.file.Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
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
