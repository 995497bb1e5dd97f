package io.linkbridge.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Time from one announcement to the last of many watchers that sees it, on 3 members on loopback:
 * Link Bridge's shutdown notice (and the SIGKILL of an agent process) against a watched put in etcd
 * and a watched setData in ZooKeeper, each system in the same run on the same machine. Every event
 * waits until the previous one reached every watcher and the system is quiet again.
 *
 * <pre>
 * bench/install-peers.sh
 * mvn -B -q -DskipTests install
 * mvn -B -q -pl linkbridge-bench exec:java -Dexec.mainClass=io.linkbridge.bench.FanoutBenchmark \
 *     -Dexec.args="--runs 3 --watchers 1000 --events 100"
 * </pre>
 */
public final class FanoutBenchmark {
  private static final int WARMUP_EVENTS = 10;
  /**
   * Events prepared at once: Link Bridge registers this many agents (for SIGKILL: agent JVMs, more of
   * which would disturb the 2-core machine for long) before announcing them one by one.
   */
  private static final int BATCH = 10;

  record Result(String system, int run, double p50Millis, double p99Millis, double maxMillis, double firstP50Millis) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchSupport.options(args, Map.of("--runs", "3", "--watchers", "1000", "--events", "100",
        "--systems", "linkbridge,linkbridge-sigkill,etcd,zookeeper"));
    int runs = Integer.parseInt(opts.get("--runs"));
    int watchers = Integer.parseInt(opts.get("--watchers"));
    int events = Integer.parseInt(opts.get("--events"));
    List<String> systems = List.of(opts.get("--systems").split(","));
    Path root = BenchSupport.scratch(opts, "linkbridge-fanout");
    System.out.printf("workload: %d watchers over 3 members on loopback, %d warm-up + %d measured events, one at a time, %d runs, systems %s%n",
        watchers, WARMUP_EVENTS, events, runs, systems);
    List<Result> results = new ArrayList<>();
    for (int run = 1; run <= runs; run++) {
      for (String system : systems) {
        Result r = measure(system, run, root.resolve(system + "-" + run), watchers, events);
        results.add(r);
        System.out.printf("run %d %-19s last watcher p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms   first watcher p50 %6.2f ms%n", run, system,
            r.p50Millis(), r.p99Millis(), r.maxMillis(), r.firstP50Millis());
      }
    }
    System.out.println();
    System.out.println("| system | last watcher p50 ms (median of runs) | p99 ms | max ms (worst run) | first watcher p50 ms | runs (p50 / p99) |");
    System.out.println("|---|---:|---:|---:|---:|---|");
    Map<String, double[]> medians = new LinkedHashMap<>();
    for (String system : systems) {
      List<Result> rs = results.stream().filter(r -> r.system().equals(system)).toList();
      double p50 = BenchSupport.median(rs.stream().mapToDouble(Result::p50Millis).toArray());
      double p99 = BenchSupport.median(rs.stream().mapToDouble(Result::p99Millis).toArray());
      medians.put(system, new double[] {p50, p99});
      System.out.printf("| %s | %.2f | %.2f | %.2f | %.2f | %s |%n", system, p50, p99, rs.stream().mapToDouble(Result::maxMillis).max().orElse(0),
          BenchSupport.median(rs.stream().mapToDouble(Result::firstP50Millis).toArray()),
          rs.stream().map(r -> String.format("%.1f / %.1f", r.p50Millis(), r.p99Millis())).toList());
    }
    if (medians.containsKey("linkbridge")) {
      for (String system : List.of("etcd", "zookeeper")) {
        if (medians.containsKey(system)) {
          System.out.printf("%s / linkbridge (notice): p50 %.2fx, p99 %.2fx%n", system, medians.get(system)[0] / medians.get("linkbridge")[0],
              medians.get(system)[1] / medians.get("linkbridge")[1]);
        }
      }
    }
    BenchSupport.deleteRecursively(root);
    System.exit(0);
  }

  private static Result measure(String system, int run, Path dir, int watchers, int events) throws Exception {
    Files.createDirectories(dir);
    EventSink sink = new EventSink();
    try (FanoutTarget target = switch (system) {
      case "linkbridge" -> new LinkBridgeFanout(false);
      case "linkbridge-sigkill" -> new LinkBridgeFanout(true);
      case "etcd" -> new EtcdFanout();
      case "zookeeper" -> new ZooKeeperFanout();
      default -> throw new IllegalArgumentException("unknown system " + system + "; known: linkbridge, linkbridge-sigkill, etcd, zookeeper");
    }) {
      if (run == 1) {
        System.out.printf("  %s: %s%n", system, target.announcement());
      }
      target.start(dir, watchers, sink);
      int total = WARMUP_EVENTS + events;
      long[] last = new long[events];
      long[] first = new long[events];
      for (int e = 0; e < total; ) {
        List<String> keys = new ArrayList<>();
        for (int k = e; k < Math.min(total, e + BATCH); k++) {
          keys.add("i-" + run + "-" + k);
        }
        target.prepare(keys);
        for (String key : keys) {
          sink.expect(key);
          long t0 = System.nanoTime();
          target.announce(key);
          long[] seen = sink.await(watchers, 30_000);
          target.settle(key);
          if (e >= WARMUP_EVENTS) {
            first[e - WARMUP_EVENTS] = seen[0] - t0;
            last[e - WARMUP_EVENTS] = seen[1] - t0;
          }
          e++;
        }
      }
      Arrays.sort(last);
      Arrays.sort(first);
      return new Result(system, run, percentile(last, 0.50), percentile(last, 0.99), last[last.length - 1] / 1e6, percentile(first, 0.50));
    } finally {
      BenchSupport.deleteRecursively(dir);
    }
  }

  /** The nearest-rank percentile of sorted nanoseconds, in milliseconds. */
  private static double percentile(long[] sorted, double p) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
  }
}
