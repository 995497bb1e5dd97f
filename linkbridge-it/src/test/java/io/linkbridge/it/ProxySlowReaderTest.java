package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.linkbridge.Agent;
import io.linkbridge.LinkBridge;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.BrokerProcess;
import io.linkbridge.testing.FreePorts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readers that stop reading for 30 s while their instance keeps sending: the broker, a process of its
 * own, holds a bounded amount per call, not the stream. The instance writes whenever its stream takes
 * more (flow control), so it is held back once the windows between it, the broker and the reader are
 * full. The broker's heap after a full GC stays within the per-call bound of docs/proxy.md.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class ProxySlowReaderTest {
  static final int READERS = 8;
  static final int MESSAGE = 64 * 1024;
  /**
   * docs/proxy.md: per call, one HTTP/2 window from the instance (1 MiB) and a message each way, in
   * network buffers that may take up to twice the bytes they hold (a frame's bytes keep the whole
   * buffer they were read into alive).
   */
  static final long PER_CALL_BOUND = 2L * (1 << 20) + 2L * MESSAGE;
  static final MethodDescriptor<String, String> FLOOD = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.SERVER_STREAMING).setFullMethodName("test.Echo/Flood")
      .setRequestMarshaller(RollingRestartTest.TEXT).setResponseMarshaller(RollingRestartTest.TEXT).build();

  @TempDir Path dir;

  /** Used heap of {@code pid} right after a full GC, in bytes (jcmd, from this JVM's JDK). */
  private static long heapAfterGc(long pid) throws IOException, InterruptedException {
    String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    run(jcmd, String.valueOf(pid), "GC.run");
    String info = run(jcmd, String.valueOf(pid), "GC.heap_info");
    Matcher m = Pattern.compile("used (\\d+)K").matcher(info);
    if (!m.find()) {
      throw new IllegalStateException("no heap use in: " + info);
    }
    return Long.parseLong(m.group(1)) * 1024;
  }

  private static String run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
    }
    return out;
  }

  /**
   * Through the broker's API address (two grpc-java calls per proxied call) and through its proxy
   * port (HTTP/2 frames passed on). The broker's network buffers are on its heap and unpooled here,
   * so the heap after a full GC counts every byte it holds, what its transport buffers included.
   */
  @ParameterizedTest(name = "through the {0}")
  @ValueSource(strings = {"API address", "proxy port"})
  void readersStopFor30s_theInstanceIsHeldBack_theBrokersHeapStaysWithinThePerCallBound(String path) throws Exception {
    AtomicLong sent = new AtomicLong();
    String chunk = "x".repeat(MESSAGE);
    int port = FreePorts.next();
    Server instance = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .addService(ServerServiceDefinition.builder("test.Echo").addMethod(FLOOD, ServerCalls.asyncServerStreamingCall(
            (String request, io.grpc.stub.StreamObserver<String> plain) -> {
              ServerCallStreamObserver<String> out = (ServerCallStreamObserver<String>) plain;
              out.setOnReadyHandler(() -> {
                while (out.isReady() && !out.isCancelled()) { // writes whenever the stream takes more
                  out.onNext(chunk);
                  sent.incrementAndGet();
                }
              });
            })).build())
        .build().start();
    Peer peer = Peer.of("broker-1", "127.0.0.1:" + FreePorts.next());
    String api = "127.0.0.1:" + FreePorts.next();
    Set<String> acked = ConcurrentHashMap.newKeySet();
    String proxyPort = "127.0.0.1:" + FreePorts.next();
    BrokerProcess broker = BrokerProcess.start("broker-1", dir.resolve("broker-1"), api, List.of("proxy=" + proxyPort, "heapBuffers=true"),
        List.of(peer), dir.resolve("broker-1.log"), acked);
    ManagedChannel channel = NettyChannelBuilder.forTarget(path.equals("proxy port") ? proxyPort : api).usePlaintext().build();
    List<ClientCall<String, String>> readers = new ArrayList<>();
    try {
      broker.awaitReady();
      try (Agent agent = LinkBridge.agent().id("agent-1").brokers(api)
          .register(ServiceInstance.builder("echo").id("echo-1").endpoint("127.0.0.1", port).grpcService("test.Echo").build()).start()) {
        assertThat(agent.instances()).hasSize(1);
        long baseline = heapAfterGc(broker.pid());
        AtomicLong read = new AtomicLong();
        for (int i = 0; i < READERS; i++) {
          ClientCall<String, String> call = channel.newCall(FLOOD, CallOptions.DEFAULT);
          call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(String message) {
              read.incrementAndGet();
            }
          }, new Metadata());
          call.sendMessage("go");
          call.halfClose();
          call.request(1); // one message, then nothing
          readers.add(call);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> read.get() == READERS);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long[] last = {-1};
        await().atMost(Duration.ofSeconds(45)).pollInterval(Duration.ofSeconds(1)).until(() -> { // 30 s, and the instance held back
          long n = sent.get();
          boolean heldBack = n == last[0];
          last[0] = n;
          return System.nanoTime() >= until && heldBack;
        });
        long held = heapAfterGc(broker.pid()) - baseline;
        long unread = sent.get() - read.get();
        System.out.printf("%s: %d readers stopped for 30 s: the instance sent %d messages of 64 kB, %d unread across the hops; broker heap +%d kB"
            + " after a full GC (bound %d kB)%n", path, READERS, sent.get(), unread, held / 1024, READERS * PER_CALL_BOUND / 1024);
        assertThat(held).as("broker heap held for %d stalled calls", READERS).isLessThan(READERS * PER_CALL_BOUND);
        assertThat(unread).as("messages sent and not read, across instance, broker and reader").isLessThan(READERS * 100L);

        readers.forEach(c -> c.request(5)); // reading again: the stream goes on
        await().atMost(Duration.ofSeconds(10)).until(() -> read.get() >= READERS * 6L);
      }
    } finally {
      readers.forEach(c -> c.cancel("done", null));
      channel.shutdownNow();
      broker.close();
      instance.shutdownNow();
    }
  }
}
