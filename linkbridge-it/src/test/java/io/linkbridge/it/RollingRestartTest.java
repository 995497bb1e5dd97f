package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.linkbridge.Agent;
import io.linkbridge.HostAndPort;
import io.linkbridge.LinkBridge;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rolling restart of a service under load costs its callers nothing, whichever way they reach it:
 * through a broker's proxy, or with the {@code linkbridge} resolver. Two real grpc-java instances,
 * each with its agent; 4 threads call for 20 s on each path while each instance in turn sends its
 * shutdown notice, waits its grace period, stops, starts again and registers again.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RollingRestartTest {
  static final MethodDescriptor.Marshaller<String> TEXT = io.linkbridge.it.process.EchoInstanceMain.TEXT;
  static final MethodDescriptor<String, String> ECHO = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("test.Echo/Unary").setRequestMarshaller(TEXT).setResponseMarshaller(TEXT)
      .build();
  static final Duration GRACE = Duration.ofSeconds(1);

  @TempDir Path dir;
  private TestCluster cluster;
  private final int[] ports = {FreePorts.next(), FreePorts.next()};
  private final Server[] servers = new Server[2];
  private final Agent[] agents = new Agent[2];
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    cluster = TestCluster.serving(dir, 3, b -> b).withProxyPorts().start();
    for (int i = 0; i < 2; i++) {
      startInstance(i);
    }
  }

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    for (int i = 0; i < 2; i++) {
      if (agents[i] != null) {
        agents[i].close();
      }
      if (servers[i] != null) {
        servers[i].shutdownNow();
      }
    }
    cluster.close();
  }

  private void startInstance(int i) throws IOException {
    String name = "echo-" + (i + 1);
    servers[i] = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", ports[i]))
        .addService(ServerServiceDefinition.builder("test.Echo").addMethod(ECHO, ServerCalls.asyncUnaryCall((String request, io.grpc.stub.StreamObserver<String> out) -> {
          out.onNext(name + ":" + request);
          out.onCompleted();
        })).build())
        .build().start();
    agents[i] = LinkBridge.agent().id("agent-" + name).brokers(cluster.api(i), cluster.api((i + 1) % 3), cluster.api(2))
        .register(ServiceInstance.builder("echo").id(name).endpoint("127.0.0.1", ports[i]).grpcService("test.Echo").build()).start();
  }

  /**
   * The instance sends its shutdown notice, keeps serving for its grace period, then stops at once
   * (a call that still reached it now would fail), its agent leaves, and it starts again.
   */
  private void restart(int i) throws Exception {
    agents[i].drain("echo", "echo-" + (i + 1));
    TimeUnit.MILLISECONDS.sleep(GRACE.toMillis());
    servers[i].shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    agents[i].close();
    startInstance(i);
  }

  private void rollingRestartUnderLoad(Channel channel, String path) throws Exception {
    await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> call(channel, "warm").startsWith("echo-"));
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger calls = new AtomicInteger();
    List<String> failures = new CopyOnWriteArrayList<>();
    Map<String, AtomicInteger> served = new ConcurrentHashMap<>();
    List<Thread> callers = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread caller = new Thread(() -> {
        while (running.get()) {
          try {
            String answer = call(channel, "x");
            served.computeIfAbsent(answer.substring(0, answer.indexOf(':')), k -> new AtomicInteger()).incrementAndGet();
          } catch (RuntimeException e) {
            failures.add(e.toString());
          }
          calls.incrementAndGet();
        }
      }, "caller-" + t);
      caller.start();
      callers.add(caller);
    }
    long began = System.nanoTime();
    TimeUnit.SECONDS.sleep(2);
    restart(0);
    TimeUnit.SECONDS.sleep(4);
    restart(1);
    long left = TimeUnit.SECONDS.toNanos(20) - (System.nanoTime() - began);
    TimeUnit.NANOSECONDS.sleep(Math.max(0, left));
    running.set(false);
    for (Thread caller : callers) {
      caller.join(10_000);
    }
    System.out.printf("rolling restart through %s: %d calls, %d failed, served %s%n", path, calls.get(), failures.size(), served);
    assertThat(failures).as("failed calls through " + path).isEmpty();
    assertThat(calls.get()).isGreaterThan(100);
    assertThat(served.keySet()).containsExactlyInAnyOrder("echo-1", "echo-2");
  }

  private static String call(Channel channel, String request) {
    return ClientCalls.blockingUnaryCall(channel, ECHO, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), request);
  }

  @Test
  void throughABrokersProxy_noCallFails() throws Exception {
    HostAndPort broker = HostAndPort.parse("broker", cluster.api(2));
    ManagedChannel channel = NettyChannelBuilder.forAddress(broker.host(), broker.port()).usePlaintext().build();
    channels.add(channel);
    rollingRestartUnderLoad(channel, "the proxy of broker-3");
  }

  @Test
  void throughABrokersProxyPort_noCallFails() throws Exception { // the frame path
    HostAndPort broker = HostAndPort.parse("broker", cluster.proxy(2));
    ManagedChannel channel = NettyChannelBuilder.forAddress(broker.host(), broker.port()).usePlaintext().build();
    channels.add(channel);
    rollingRestartUnderLoad(channel, "the proxy port of broker-3");
  }

  @Test
  void withTheLinkbridgeResolver_noCallFails() throws Exception {
    ManagedChannel channel = Grpc.newChannelBuilder("linkbridge:///echo?brokers=" + cluster.api(2) + "," + cluster.api(0),
        InsecureChannelCredentials.create()).defaultLoadBalancingPolicy("round_robin").build();
    channels.add(channel);
    rollingRestartUnderLoad(channel, "the linkbridge resolver");
  }
}
