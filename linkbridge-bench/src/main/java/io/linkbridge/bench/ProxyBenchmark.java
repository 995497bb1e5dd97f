package io.linkbridge.bench;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.linkbridge.Agent;
import io.linkbridge.LinkBridge;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.BrokerProcess;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The broker's proxy against calling the instance directly, through nginx {@code grpc_pass} and
 * through HAProxy, in one run on one machine: three broker processes on loopback, one instance
 * ({@link EchoServerMain}) in a process of its own registered by an agent, nginx with 2 workers and
 * HAProxy with 2 threads (Debian's packages, {@code bench/install-peers.sh --proxies}), and the load
 * generator in this JVM. Per target and run: the latency of
 * unary calls one at a time (p50, p99; the paths take turns every {@code --latency-block} calls), unary throughput with
 * {@code --concurrency} calls in flight, and server-streaming throughput (4 streams of 1 KiB
 * messages), the throughputs one path after the other in a rotating order. The table gives medians
 * over the runs, and ratios against the direct calls and the other proxies.
 *
 * <pre>
 * bench/install-peers.sh --proxies
 * mvn -B -q -DskipTests install
 * mvn -B -q -pl linkbridge-bench exec:java -Dexec.mainClass=io.linkbridge.bench.ProxyBenchmark -Dexec.args="--runs 3 --seconds 10"
 * </pre>
 */
public final class ProxyBenchmark {
  private static final int PAYLOAD = 100;
  private static final int STREAM_MESSAGE = 1024;

  private ProxyBenchmark() {}

  /** One measurement of one target: unary p50 and p99 in µs, unary calls/s, streamed messages/s. */
  private record Result(double p50, double p99, double callsPerSecond, double messagesPerSecond) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchSupport.options(args, Map.of("--runs", "3", "--seconds", "10", "--concurrency", "32",
        "--latency-calls", "3000", "--latency-block", "50", "--warmup", "10"));
    int runs = Integer.parseInt(opts.get("--runs"));
    int seconds = Integer.parseInt(opts.get("--seconds"));
    int concurrency = Integer.parseInt(opts.get("--concurrency"));
    int latencyCalls = Integer.parseInt(opts.get("--latency-calls"));
    int latencyBlock = Integer.parseInt(opts.get("--latency-block"));
    int warmup = Integer.parseInt(opts.get("--warmup"));
    Path root = BenchSupport.scratch(opts, "linkbridge-proxy");
    String nginxCommand = installed("nginx");
    String haproxyCommand = installed("haproxy");
    boolean haveNginx = nginxCommand != null;
    boolean haveHaproxy = haproxyCommand != null;
    System.out.printf("workload: unary %d-byte calls (one at a time for latency, the paths taking turns every %d calls, %d in flight for throughput, %d s), 4 server streams of"
        + " %d-byte messages (%d s); 3 broker processes, the instance in its own process, nginx %s, HAProxy %s; %d runs; %s, %d cores%n",
        PAYLOAD, latencyBlock, concurrency, seconds, STREAM_MESSAGE, seconds, haveNginx ? "with 2 workers" : "NOT INSTALLED",
        haveHaproxy ? "with 2 threads" : "NOT INSTALLED", runs, BenchSupport.cpuModel(), Runtime.getRuntime().availableProcessors());
    if (!haveNginx || !haveHaproxy) {
      System.out.println("(bench/install-peers.sh --proxies installs nginx and HAProxy from Debian's packages)");
    }

    List<Peer> peers = new ArrayList<>();
    List<String> apis = new ArrayList<>();
    String proxyPort = "127.0.0.1:" + Ports.free(); // broker-2's proxyAddress
    for (int i = 1; i <= 3; i++) {
      peers.add(Peer.of("broker-" + i, "127.0.0.1:" + Ports.free()));
      apis.add("127.0.0.1:" + Ports.free());
    }
    List<BrokerProcess> brokers = new ArrayList<>();
    Set<String> acked = ConcurrentHashMap.newKeySet();
    int instancePort = Ports.free();
    Process instance = null;
    Process nginx = null;
    Process haproxy = null;
    Agent agent = null;
    try {
      for (int i = 0; i < 3; i++) {
        brokers.add(BrokerProcess.start(peers.get(i).id(), root.resolve(peers.get(i).id()), apis.get(i),
            i == 1 ? List.of("proxy=" + proxyPort) : List.of(), peers, root.resolve(peers.get(i).id() + ".log"), acked));
      }
      brokers.forEach(BrokerProcess::awaitReady);
      instance = EchoServerMain.start(instancePort, root.resolve("instance.log"));
      agent = LinkBridge.agent().id("bench-agent").brokers(apis.toArray(String[]::new))
          .register(ServiceInstance.builder("echo").id("echo-1").endpoint("127.0.0.1", instancePort).grpcService("bench.Echo").build()).start();

      Map<String, String> targets = new LinkedHashMap<>();
      targets.put("direct", "127.0.0.1:" + instancePort);
      targets.put("broker proxy", apis.get(1));
      targets.put("broker proxy port", proxyPort);
      if (haveNginx) {
        int nginxPort = Ports.free();
        nginx = startNginx(nginxCommand, root.resolve("nginx"), nginxPort, instancePort);
        targets.put("nginx grpc_pass", "127.0.0.1:" + nginxPort);
      }
      if (haveHaproxy) {
        int haproxyPort = Ports.free();
        haproxy = startHaproxy(haproxyCommand, root.resolve("haproxy"), haproxyPort, instancePort);
        targets.put("HAProxy h2", "127.0.0.1:" + haproxyPort);
      }
      Map<String, List<Result>> results = new LinkedHashMap<>();
      targets.keySet().forEach(t -> results.put(t, new ArrayList<>()));
      List<String> names = new ArrayList<>(targets.keySet());
      Map<String, ManagedChannel> channels = new LinkedHashMap<>();
      targets.forEach((name, address) -> channels.put(name, channel(address)));
      try {
        for (int run = 0; run < runs + 1; run++) { // run 0 warms every path up and is not counted
          Map<String, long[]> latencies = interleavedLatencies(channels, latencyCalls, latencyBlock);
          for (int k = 0; k < names.size(); k++) {
            String name = names.get((k + run) % names.size());
            ManagedChannel channel = channels.get(name);
            int s = run == 0 ? warmup : seconds;
            double calls = unaryThroughput(channel, new byte[PAYLOAD], concurrency, s);
            double messages = streamThroughput(channel, 4, s);
            long[] micros = latencies.get(name);
            Result r = new Result(micros[micros.length / 2], micros[(int) (micros.length * 0.99)], calls, messages);
            if (run > 0) {
              results.get(name).add(r);
              System.out.printf("run %d %-16s p50 %6.0f µs  p99 %6.0f µs  %8.0f calls/s  %9.0f msgs/s%n", run, name, r.p50(), r.p99(),
                  r.callsPerSecond(), r.messagesPerSecond());
            }
          }
        }
      } finally {
        for (ManagedChannel c : channels.values()) {
          c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
      report(results, runs);
    } finally {
      if (agent != null) {
        agent.close();
      }
      for (Process p : Arrays.asList(nginx, haproxy)) {
        if (p != null) {
          p.destroy();
          p.waitFor(10, TimeUnit.SECONDS);
        }
      }
      if (instance != null) {
        instance.destroyForcibly();
      }
      brokers.forEach(BrokerProcess::close);
    }
  }

  private static Process startNginx(String command, Path dir, int port, int instancePort) throws Exception {
    Files.createDirectories(dir.resolve("logs"));
    Files.writeString(dir.resolve("nginx.conf"), """
        worker_processes 2;
        daemon off;
        pid %1$s/nginx.pid;
        error_log %1$s/logs/error.log warn;
        events { worker_connections 4096; }
        http {
          access_log off;
          client_body_temp_path %1$s/body;
          upstream echo { server 127.0.0.1:%3$d; keepalive 64; }
          server {
            listen 127.0.0.1:%2$d http2;
            location / { grpc_pass grpc://echo; }
          }
        }
        """.formatted(dir, port, instancePort));
    Process p = new ProcessBuilder(command, "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("logs/stdout.log").toFile()).start();
    return awaitListening(p, port, "nginx", dir.resolve("logs"));
  }

  /** HAProxy in front of the instance, HTTP/2 in cleartext on both sides (how it carries gRPC), 2 threads as nginx has 2 workers. */
  private static Process startHaproxy(String command, Path dir, int port, int instancePort) throws Exception {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("haproxy.cfg"), """
        global
          nbthread 2
          maxconn 4096
        defaults
          mode http
          timeout connect 5s
          timeout client 60s
          timeout server 60s
        frontend grpc
          bind 127.0.0.1:%1$d proto h2
          default_backend echo
        backend echo
          server echo 127.0.0.1:%2$d proto h2
        """.formatted(port, instancePort));
    Process p = new ProcessBuilder(command, "-db", "-f", dir.resolve("haproxy.cfg").toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("haproxy.log").toFile()).start();
    return awaitListening(p, port, "haproxy", dir.resolve("haproxy.log"));
  }

  /** The path of {@code command}, looked up in PATH and the sbin directories Debian installs servers in; null when absent. */
  private static String installed(String command) throws Exception {
    Process p = new ProcessBuilder("sh", "-c", "PATH=\"$PATH:/usr/sbin:/sbin\" command -v " + command).start();
    String path = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    return p.waitFor() == 0 && !path.isEmpty() ? path : null;
  }

  private static Process awaitListening(Process p, int port, String name, Path logs) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 200);
        return p;
      } catch (java.io.IOException e) {
        if (!p.isAlive()) {
          break;
        }
        TimeUnit.MILLISECONDS.sleep(50);
      }
    }
    p.destroyForcibly();
    throw new IllegalStateException(name + " did not start; see " + logs);
  }

  private static ManagedChannel channel(String target) {
    String[] hp = target.split(":");
    return NettyChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().directExecutor().build();
  }

  /**
   * {@code calls} unary calls one at a time to each path, the paths taking turns every {@code block}
   * calls, so that every path sees the same stretches of a noisy machine (with a block of 1 each call
   * finds its proxy idle since the other paths' calls); returns each path's latencies in µs, sorted.
   */
  private static Map<String, long[]> interleavedLatencies(Map<String, ManagedChannel> channels, int calls, int block) {
    byte[] payload = new byte[PAYLOAD];
    Map<String, long[]> micros = new LinkedHashMap<>();
    channels.keySet().forEach(name -> micros.put(name, new long[calls]));
    for (int start = 0; start < calls; start += block) {
      for (Map.Entry<String, ManagedChannel> e : channels.entrySet()) {
        for (int i = start; i < Math.min(calls, start + block); i++) {
          long t0 = System.nanoTime();
          ClientCalls.blockingUnaryCall(e.getValue(), EchoServerMain.UNARY, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
              payload);
          micros.get(e.getKey())[i] = (System.nanoTime() - t0) / 1_000;
        }
      }
    }
    micros.values().forEach(Arrays::sort);
    return micros;
  }

  /** {@code concurrency} unary calls kept in flight for {@code seconds}; returns calls/s. */
  private static double unaryThroughput(ManagedChannel channel, byte[] payload, int concurrency, int seconds) throws InterruptedException {
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong done = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    CountDownLatch stopped = new CountDownLatch(concurrency);
    for (int i = 0; i < concurrency; i++) {
      callAgain(channel, payload, running, done, failed, stopped);
    }
    long t0 = System.nanoTime();
    TimeUnit.SECONDS.sleep(seconds);
    long n = done.get();
    double elapsed = (System.nanoTime() - t0) / 1e9;
    running.set(false);
    stopped.await(10, TimeUnit.SECONDS);
    if (failed.get() > 0) {
      throw new IllegalStateException(failed.get() + " calls failed");
    }
    return n / elapsed;
  }

  private static void callAgain(ManagedChannel channel, byte[] payload, AtomicBoolean running, AtomicLong done, AtomicLong failed,
      CountDownLatch stopped) {
    if (!running.get()) {
      stopped.countDown();
      return;
    }
    ClientCall<byte[], byte[]> call = channel.newCall(EchoServerMain.UNARY, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        if (status.isOk()) {
          done.incrementAndGet();
        } else {
          failed.incrementAndGet();
        }
        callAgain(channel, payload, running, done, failed, stopped);
      }
    }, new Metadata());
    call.sendMessage(payload);
    call.halfClose();
    call.request(1);
  }

  /** {@code streams} server streams of 1 KiB messages, read as fast as they come, for {@code seconds}; returns messages/s. */
  private static double streamThroughput(ManagedChannel channel, int streams, int seconds) throws InterruptedException {
    AtomicLong received = new AtomicLong();
    List<ClientCall<byte[], byte[]>> calls = new ArrayList<>();
    byte[] request = ByteBuffer.allocate(8).putInt(Integer.MAX_VALUE).putInt(STREAM_MESSAGE).array();
    for (int i = 0; i < streams; i++) {
      ClientCall<byte[], byte[]> call = channel.newCall(EchoServerMain.STREAM, CallOptions.DEFAULT);
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onMessage(byte[] message) {
          received.incrementAndGet();
          call.request(1);
        }
      }, new Metadata());
      call.sendMessage(request);
      call.halfClose();
      call.request(16);
      calls.add(call);
    }
    TimeUnit.SECONDS.sleep(1); // the windows open up
    long n0 = received.get();
    long t0 = System.nanoTime();
    TimeUnit.SECONDS.sleep(seconds);
    double rate = (received.get() - n0) / ((System.nanoTime() - t0) / 1e9);
    calls.forEach(c -> c.cancel("measured", null));
    return rate;
  }

  /** {@code value} against each peer's ("-" for one not measured). */
  private static String ratios(double value, List<Result> peers, java.util.function.ToDoubleFunction<Result> of) {
    return String.join(", ", peers.stream().map(p -> p == null ? "-" : String.format("%.2fx", value / of.applyAsDouble(p))).toList());
  }

  private static void report(Map<String, List<Result>> results, int runs) {
    Map<String, Result> median = new LinkedHashMap<>();
    results.forEach((name, rs) -> median.put(name, new Result(
        BenchSupport.median(rs.stream().mapToDouble(Result::p50).toArray()),
        BenchSupport.median(rs.stream().mapToDouble(Result::p99).toArray()),
        BenchSupport.median(rs.stream().mapToDouble(Result::callsPerSecond).toArray()),
        BenchSupport.median(rs.stream().mapToDouble(Result::messagesPerSecond).toArray()))));
    Result direct = median.get("direct");
    System.out.println();
    System.out.println("| path | unary p50 | unary p99 | p50 vs direct | unary calls/s | streamed msgs/s | calls/s vs nginx, HAProxy"
        + " | msgs/s vs nginx, HAProxy |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|");
    List<Result> peers = Arrays.asList(median.get("nginx grpc_pass"), median.get("HAProxy h2"));
    median.forEach((name, r) -> System.out.printf("| %s | %.0f µs | %.0f µs | %.2fx | %.0f | %.0f | %s | %s |%n", name, r.p50(), r.p99(),
        r.p50() / direct.p50(), r.callsPerSecond(), r.messagesPerSecond(), ratios(r.callsPerSecond(), peers, Result::callsPerSecond),
        ratios(r.messagesPerSecond(), peers, Result::messagesPerSecond)));
    System.out.println("(medians of " + runs + " runs)");
  }
}
