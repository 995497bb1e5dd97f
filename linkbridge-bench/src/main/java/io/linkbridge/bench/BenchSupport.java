package io.linkbridge.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.stream.Stream;

/** What the benchmark programs share: their options, medians, the machine's description, clean-up. */
final class BenchSupport {
  private BenchSupport() {}

  /** {@code --name value} pairs over {@code defaults} (plus {@code --dir}, the scratch directory's parent); an unknown name fails. */
  static Map<String, String> options(String[] args, Map<String, String> defaults) {
    Map<String, String> opts = new LinkedHashMap<>(defaults);
    opts.put("--dir", System.getProperty("java.io.tmpdir"));
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!opts.containsKey(args[i])) {
        throw new IllegalArgumentException("unknown option " + args[i] + "; options: " + opts.keySet());
      }
      opts.put(args[i], args[i + 1]);
    }
    return opts;
  }

  /** Creates the scratch directory under {@code --dir} and prints the machine line every report starts with. */
  static Path scratch(Map<String, String> opts, String prefix) throws IOException {
    Path root = Files.createTempDirectory(Path.of(opts.get("--dir")), prefix);
    System.out.printf("machine: %d cores, %s, Java %s; data in %s%n", Runtime.getRuntime().availableProcessors(), cpuModel(),
        System.getProperty("java.version"), root);
    return root;
  }

  /** Waits until {@code count} reaches {@code target}, for at most 60 s; {@code what} names it in the failure. */
  static void awaitCount(IntSupplier count, int target, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (count.getAsInt() < target) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("only " + count.getAsInt() + " of " + target + " " + what + " within 60 s");
      }
      Thread.sleep(5);
    }
  }

  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
    } catch (IOException e) {
      return "unknown CPU";
    }
  }

  static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
