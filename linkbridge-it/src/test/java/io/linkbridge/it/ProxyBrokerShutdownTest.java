package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.EquivalentAddressGroup;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import io.linkbridge.ShutdownConfig;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker that proxies a client's calls shuts down gracefully while they run. Unary callers on a
 * plain grpc-java channel over the list of brokers lose no call; a stream through that broker that
 * ends within the grace period completes; one that would run longer ends UNAVAILABLE, telling the
 * caller to call again through another broker.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyBrokerShutdownTest {
  static final MethodDescriptor<String, String> ECHO = RollingRestartTest.ECHO;
  /** Answers {@code n} messages, one every {@link #TICK}. */
  static final MethodDescriptor<String, String> TICKS = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.SERVER_STREAMING).setFullMethodName("test.Echo/Ticks").setRequestMarshaller(RollingRestartTest.TEXT)
      .setResponseMarshaller(RollingRestartTest.TEXT).build();
  static final Duration TICK = Duration.ofMillis(100);
  static final Duration GRACE = Duration.ofSeconds(4);

  @TempDir Path dir;
  private TestCluster cluster;
  private Server instance;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    cluster = TestCluster.serving(dir, 3, b -> b.shutdown(ShutdownConfig.DEFAULT.withGracePeriod(GRACE))).withProxyPorts().start();
    int port = FreePorts.next();
    instance = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .addService(ServerServiceDefinition.builder("test.Echo")
            .addMethod(ECHO, ServerCalls.asyncUnaryCall((String request, io.grpc.stub.StreamObserver<String> out) -> {
              out.onNext("echo:" + request);
              out.onCompleted();
            }))
            .addMethod(TICKS, ServerCalls.asyncServerStreamingCall((String request, io.grpc.stub.StreamObserver<String> out) -> {
              int n = Integer.parseInt(request);
              AtomicInteger sent = new AtomicInteger();
              ticker.scheduleAtFixedRate(() -> {
                int i = sent.getAndIncrement();
                if (i < n) {
                  out.onNext("tick-" + i); // throws once the call was cancelled, which ends this schedule too
                } else {
                  out.onCompleted();
                  throw new IllegalStateException("done: ends this schedule");
                }
              }, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
            }))
            .build())
        .build().start();
    cluster.node(1).registry().register(ServiceInstance.builder("echo").id("echo-1").endpoint("127.0.0.1", port).grpcService("test.Echo")
        .build()).get(10, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).until(() -> cluster.running().stream().allMatch(n -> !n.registry().state().allInstances().isEmpty()));
  }

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    ticker.shutdownNow();
    instance.shutdownNow();
    cluster.close();
  }

  /** A plain grpc-java channel over the brokers' addresses, round robin: what a service's own clients would use. */
  private ManagedChannel brokerList(List<String> brokers) {
    List<SocketAddress> addresses = brokers.stream().map(b -> HostAndPort.parse("broker", b))
        .<SocketAddress>map(a -> new InetSocketAddress(a.host(), a.port())).toList();
    NameResolverProvider fixed = new NameResolverProvider() {
      @Override
      protected boolean isAvailable() {
        return true;
      }

      @Override
      protected int priority() {
        return 5;
      }

      @Override
      public String getDefaultScheme() {
        return "brokers";
      }

      @Override
      public NameResolver newNameResolver(URI target, NameResolver.Args args) {
        return new NameResolver() {
          @Override
          public String getServiceAuthority() {
            return "echo";
          }

          @Override
          public void start(Listener2 listener) {
            listener.onResult2(ResolutionResult.newBuilder()
                .setAddressesOrError(StatusOr.fromValue(addresses.stream().map(EquivalentAddressGroup::new).toList())).build());
          }

          @Override
          public void shutdown() {}
        };
      }
    };
    @SuppressWarnings("deprecation") // the one way to hand a channel its own resolver without registering it for the whole JVM
    ManagedChannel channel = NettyChannelBuilder.forTarget("brokers:///echo").nameResolverFactory(fixed).defaultLoadBalancingPolicy("round_robin")
        .usePlaintext().build();
    channels.add(channel);
    return channel;
  }

  /** A server stream of {@code n} ticks through {@code channel}: completes with what arrived and how it ended. */
  private static CompletableFuture<Status> ticks(ManagedChannel channel, int n, List<String> got) {
    CompletableFuture<Status> end = new CompletableFuture<>();
    ClientCall<String, String> call = channel.newCall(TICKS, CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(String message) {
        got.add(message);
        call.request(1);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        end.complete(status);
      }
    }, new Metadata());
    call.sendMessage(String.valueOf(n));
    call.halfClose();
    call.request(1);
    return end;
  }

  /** Through the brokers' API addresses, and through their proxy ports (the frame path). */
  @ParameterizedTest(name = "through the {0}")
  @ValueSource(strings = {"API addresses", "proxy ports"})
  void theProxyingBrokerLeaves_unaryCallsLoseNothing_aShortStreamCompletes_aLongOneEndsUnavailable(String path) throws Exception {
    java.util.function.IntFunction<String> address = path.equals("proxy ports") ? cluster::proxy : cluster::api;
    ManagedChannel list = brokerList(List.of(address.apply(0), address.apply(1), address.apply(2)));
    await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
        .until(() -> ClientCalls.blockingUnaryCall(list, ECHO, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "warm").equals("echo:warm"));

    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger calls = new AtomicInteger();
    List<String> failures = new CopyOnWriteArrayList<>();
    List<Thread> callers = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread caller = new Thread(() -> {
        while (running.get()) {
          try {
            ClientCalls.blockingUnaryCall(list, ECHO, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "x");
          } catch (RuntimeException e) {
            failures.add(e.toString());
          }
          calls.incrementAndGet();
        }
      }, "caller-" + t);
      caller.start();
      callers.add(caller);
    }

    ManagedChannel leaving = brokerList(List.of(address.apply(0))); // the streams go through the broker that leaves
    int shortTicks = (int) (GRACE.toMillis() / TICK.toMillis() / 2); // ends in half the grace period
    List<String> shortGot = new CopyOnWriteArrayList<>();
    List<String> longGot = new CopyOnWriteArrayList<>();
    CompletableFuture<Status> shortStream = ticks(leaving, shortTicks, shortGot);
    CompletableFuture<Status> longStream = ticks(leaving, 1_000, longGot);
    await().atMost(Duration.ofSeconds(5)).until(() -> !shortGot.isEmpty() && !longGot.isEmpty());

    long began = System.nanoTime();
    cluster.node(0).shutdown();
    assertThat(shortStream.get(GRACE.toMillis() + 5_000, TimeUnit.MILLISECONDS).getCode()).isEqualTo(Status.Code.OK);
    assertThat(shortGot).hasSize(shortTicks);
    Status cut = longStream.get(GRACE.toMillis() + 20_000, TimeUnit.MILLISECONDS);
    Duration cutAfter = Duration.ofNanos(System.nanoTime() - began);
    assertThat(cut.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(cut.getDescription()).contains("broker-1").contains("shutting down").contains("call again");
    assertThat(cutAfter).as("the long stream ran on until the grace period was over, and no longer").isGreaterThanOrEqualTo(GRACE.minusMillis(500))
        .isLessThan(GRACE.plusSeconds(5));
    assertThat(cluster.node(0).awaitTermination(Duration.ofSeconds(20))).isTrue();

    int atLeave = calls.get();
    await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() > atLeave + 200); // and on, with the broker gone
    running.set(false);
    for (Thread caller : callers) {
      caller.join(10_000);
    }
    System.out.printf("proxying broker left (%s): %d unary calls, %d failed; short stream %d ticks, long stream cut after %d ticks (%d ms)%n",
        path, calls.get(), failures.size(), shortGot.size(), longGot.size(), cutAfter.toMillis());
    assertThat(failures).as("failed unary calls").isEmpty();
  }
}
