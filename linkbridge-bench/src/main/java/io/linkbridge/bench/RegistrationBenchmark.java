package io.linkbridge.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Registration throughput and latency of a 3-member cluster under concurrent writers, for Link Bridge
 * and, in the same run on the same disk, etcd and ZooKeeper. Every write is acknowledged only after
 * a majority has it on disk, in all three systems.
 *
 * <pre>
 * bench/install-peers.sh
 * mvn -B -q -DskipTests install
 * mvn -B -q -pl linkbridge-bench exec:java -Dexec.args="--runs 5 --writes 20000 --writers 32"
 * </pre>
 */
public final class RegistrationBenchmark {
  private static final int WARMUP_WRITES = 2_000;
  private static final int VALUE_BYTES = 200;

  record Result(String system, int run, double perSecond, double p50Millis, double p99Millis, double maxMillis) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchSupport.options(args, Map.of("--runs", "3", "--writes", "20000", "--writers", "32",
        "--systems", "linkbridge,etcd,zookeeper"));
    int runs = Integer.parseInt(opts.get("--runs"));
    int writes = Integer.parseInt(opts.get("--writes"));
    int writers = Integer.parseInt(opts.get("--writers"));
    List<String> systems = List.of(opts.get("--systems").split(","));
    Path root = BenchSupport.scratch(opts, "linkbridge-bench");
    System.out.printf("workload: %d writers, %d warm-up + %d measured writes of ~%d B, 3 members on loopback, %d runs, systems interleaved%n",
        writers, WARMUP_WRITES, writes, VALUE_BYTES, runs, systems);
    List<Result> results = new ArrayList<>();
    for (int run = 1; run <= runs; run++) {
      for (String system : systems) {
        Result r = measure(system, run, root.resolve(system + "-" + run), writes, writers);
        results.add(r);
        System.out.printf("run %d %-10s %8.0f writes/s  p50 %6.2f ms  p99 %6.2f ms  max %7.1f ms%n", run, system, r.perSecond(), r.p50Millis(),
            r.p99Millis(), r.maxMillis());
      }
    }
    System.out.println();
    System.out.println("| system | writes/s (median) | p50 ms | p99 ms | max ms (worst run) | runs (writes/s) |");
    System.out.println("|---|---:|---:|---:|---:|---|");
    Map<String, Double> medians = new LinkedHashMap<>();
    for (String system : systems) {
      List<Result> rs = results.stream().filter(r -> r.system().equals(system)).toList();
      double median = BenchSupport.median(rs.stream().mapToDouble(Result::perSecond).toArray());
      medians.put(system, median);
      System.out.printf("| %s | %.0f | %.2f | %.2f | %.0f | %s |%n", system, median, BenchSupport.median(rs.stream().mapToDouble(Result::p50Millis).toArray()),
          BenchSupport.median(rs.stream().mapToDouble(Result::p99Millis).toArray()), rs.stream().mapToDouble(Result::maxMillis).max().orElse(0),
          rs.stream().map(r -> String.format("%.0f", r.perSecond())).toList());
    }
    for (String ours : List.of("linkbridge", "linkbridge-agent")) {
      for (String peer : List.of("etcd", "zookeeper")) {
        if (medians.containsKey(ours) && medians.containsKey(peer)) {
          System.out.printf("%s / %s = %.2fx%n", ours, peer, medians.get(ours) / medians.get(peer));
        }
      }
    }
    BenchSupport.deleteRecursively(root);
    System.exit(0);
  }

  private static Result measure(String system, int run, Path dir, int writes, int writers) throws Exception {
    Files.createDirectories(dir);
    try (Target target = switch (system) {
      case "linkbridge" -> new LinkBridgeTarget(false);
      case "linkbridge-agent" -> new LinkBridgeTarget(true);
      case "etcd" -> new EtcdTarget();
      case "zookeeper" -> new ZooKeeperTarget();
      default -> throw new IllegalArgumentException("unknown system " + system + "; known: linkbridge, linkbridge-agent, etcd, zookeeper");
    }) {
      target.start(dir);
      byte[] value = new byte[VALUE_BYTES];
      new Random(run).nextBytes(value);
      for (int i = 0; i < value.length; i++) {
        value[i] = (byte) ('a' + (value[i] & 0x0f)); // printable, so every system stores the same 200 bytes
      }
      load(target, "warm-" + run + "-", WARMUP_WRITES, writers, value, null);
      ConcurrentLinkedQueue<long[]> latencies = new ConcurrentLinkedQueue<>();
      long start = System.nanoTime();
      load(target, "inst-" + run + "-", writes, writers, value, latencies);
      double seconds = (System.nanoTime() - start) / 1e9;
      long[] all = latencies.stream().flatMapToLong(Arrays::stream).sorted().toArray();
      return new Result(system, run, writes / seconds, all[all.length / 2] / 1e6, all[(int) (all.length * 0.99)] / 1e6, all[all.length - 1] / 1e6);
    } finally {
      BenchSupport.deleteRecursively(dir);
    }
  }

  /** {@code count} writes from {@code writers} threads; each thread records its latencies if asked. */
  private static void load(Target target, String prefix, int count, int writers, byte[] value, ConcurrentLinkedQueue<long[]> latencies)
      throws InterruptedException {
    AtomicInteger next = new AtomicInteger();
    AtomicReference<Exception> failure = new AtomicReference<>();
    Thread[] threads = new Thread[writers];
    for (int w = 0; w < writers; w++) {
      int member = w;
      threads[w] = new Thread(() -> {
        long[] mine = new long[count / writers + 2];
        int n = 0;
        for (int i = next.getAndIncrement(); i < count && failure.get() == null; i = next.getAndIncrement()) {
          long t0 = System.nanoTime();
          try {
            target.write(member, prefix + i, value);
          } catch (Exception e) {
            failure.compareAndSet(null, e);
            return;
          }
          if (n == mine.length) {
            mine = Arrays.copyOf(mine, n * 2);
          }
          mine[n++] = System.nanoTime() - t0;
        }
        if (latencies != null) {
          latencies.add(Arrays.copyOf(mine, n));
        }
      }, "writer-" + w);
      threads[w].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    if (failure.get() != null) {
      throw new IllegalStateException(target.name() + " write failed", failure.get());
    }
  }

}
