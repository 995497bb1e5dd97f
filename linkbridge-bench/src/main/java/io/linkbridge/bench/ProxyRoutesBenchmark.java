package io.linkbridge.bench;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.linkbridge.Agent;
import io.linkbridge.LinkBridge;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.BrokerProcess;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * What a busy, big registry costs the broker's proxy: unary calls one at a time through the leader's
 * proxy while the leader registers instances of another service as fast as it can (16 in flight), so
 * the registry grows by thousands of instances a minute, against the same calls with no writes. Three
 * broker processes on loopback, the instance ({@link EchoServerMain}) in a process of its own.
 *
 * <pre>
 * mvn -B -q -DskipTests install
 * mvn -B -q -pl linkbridge-bench exec:java -Dexec.mainClass=io.linkbridge.bench.ProxyRoutesBenchmark -Dexec.args="--rounds 3"
 * </pre>
 */
public final class ProxyRoutesBenchmark {
  private ProxyRoutesBenchmark() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchSupport.options(args, Map.of("--rounds", "3", "--fill-seconds", "10", "--calls", "2000"));
    int rounds = Integer.parseInt(opts.get("--rounds"));
    int fillSeconds = Integer.parseInt(opts.get("--fill-seconds"));
    int calls = Integer.parseInt(opts.get("--calls"));
    Path root = BenchSupport.scratch(opts, "linkbridge-proxy-routes");
    System.out.printf("workload: %d unary 100-byte calls one at a time through the leader's proxy, quiet and while the leader registers"
        + " instances of another service (16 in flight), %d rounds of %d s of writes first; at most 20 s of calls per measurement; 3 broker processes; %s, %d cores%n", calls,
        rounds, fillSeconds, BenchSupport.cpuModel(), Runtime.getRuntime().availableProcessors());
    List<Peer> peers = new ArrayList<>();
    List<String> apis = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      peers.add(Peer.of("broker-" + i, "127.0.0.1:" + Ports.free()));
      apis.add("127.0.0.1:" + Ports.free());
    }
    List<BrokerProcess> brokers = new ArrayList<>();
    Set<String> acked = ConcurrentHashMap.newKeySet();
    int instancePort = Ports.free();
    Process instance = null;
    Agent agent = null;
    ManagedChannel channel = null;
    try {
      for (int i = 0; i < 3; i++) {
        brokers.add(BrokerProcess.start(peers.get(i).id(), root.resolve(peers.get(i).id()), apis.get(i), peers,
            root.resolve(peers.get(i).id() + ".log"), acked));
      }
      brokers.forEach(BrokerProcess::awaitReady);
      int leader = -1;
      while (leader < 0) {
        for (int i = 0; i < 3; i++) {
          if (brokers.get(i).status().isLeader()) {
            leader = i;
          }
        }
        TimeUnit.MILLISECONDS.sleep(50);
      }
      instance = EchoServerMain.start(instancePort, root.resolve("instance.log"));
      agent = LinkBridge.agent().id("bench-agent").brokers(apis.toArray(String[]::new))
          .register(ServiceInstance.builder("echo").id("echo-1").endpoint("127.0.0.1", instancePort).grpcService("bench.Echo").build()).start();
      String[] hp = apis.get(leader).split(":");
      channel = NettyChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().directExecutor().build();
      BrokerProcess writer = brokers.get(leader);
      latencies(channel, calls * 5); // warm-up
      long[] quietSmall = latencies(channel, calls);
      System.out.printf("registry %,d instances, quiet: p50 %d µs, p99 %d µs%n", writer.status().instances(), p(quietSmall, 50), p(quietSmall, 99));
      List<long[]> busy = new ArrayList<>();
      List<long[]> quiet = new ArrayList<>();
      for (int round = 1; round <= rounds; round++) {
        writer.startWriting("round" + round);
        TimeUnit.SECONDS.sleep(fillSeconds);
        int before = writer.status().instances();
        long[] during = latencies(channel, calls);
        int after = writer.status().instances();
        writer.stopWriting("round" + round);
        long[] still = latencies(channel, calls);
        busy.add(during);
        quiet.add(still);
        System.out.printf("round %d: registry %,d -> %,d instances while calling; during writes (%d calls) p50 %d µs, p99 %d µs; quiet p50 %d µs, p99 %d µs%n",
            round, before, after, during.length, p(during, 50), p(during, 99), p(still, 50), p(still, 99));
      }
      System.out.printf("median over rounds: during writes p50 %.0f µs, p99 %.0f µs; quiet p50 %.0f µs, p99 %.0f µs (small registry, quiet: p50 %d µs)%n",
          BenchSupport.median(busy.stream().mapToDouble(l -> p(l, 50)).toArray()), BenchSupport.median(busy.stream().mapToDouble(l -> p(l, 99)).toArray()),
          BenchSupport.median(quiet.stream().mapToDouble(l -> p(l, 50)).toArray()), BenchSupport.median(quiet.stream().mapToDouble(l -> p(l, 99)).toArray()),
          p(quietSmall, 50));
    } finally {
      if (channel != null) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      if (agent != null) {
        agent.close();
      }
      if (instance != null) {
        instance.destroyForcibly();
      }
      brokers.forEach(BrokerProcess::close);
    }
  }

  /** Up to {@code calls} unary calls one at a time, for at most 20 s; their latencies in µs, sorted. */
  private static long[] latencies(ManagedChannel channel, int calls) {
    byte[] payload = new byte[100];
    long[] micros = new long[calls];
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    int made = 0;
    while (made < calls && System.nanoTime() < end) {
      long t0 = System.nanoTime();
      ClientCalls.blockingUnaryCall(channel, EchoServerMain.UNARY, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), payload);
      micros[made++] = (System.nanoTime() - t0) / 1_000;
    }
    long[] done = Arrays.copyOf(micros, made);
    Arrays.sort(done);
    return done;
  }

  private static long p(long[] sorted, int percentile) {
    return sorted[Math.min(sorted.length - 1, sorted.length * percentile / 100)];
  }
}
