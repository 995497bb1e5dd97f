package io.linkbridge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.linkbridge.InstanceState;
import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.DiscoverRequest;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.spi.LocalConsensusProvider;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker's proxy, with two real grpc-java instances of a test service {@code test.Echo}: every
 * call kind, headers and trailers, error details, deadlines and cancellation, the choice of
 * instance, and the errors of a call that cannot be routed.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProxyTest {
  static final Metadata.Key<String> TEST_HEADER = Metadata.Key.of("x-test", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> ECHO_HEADER = Metadata.Key.of("x-echo", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> TRAILER = Metadata.Key.of("x-trailer", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<byte[]> DETAILS = Metadata.Key.of("x-details-bin", Metadata.BINARY_BYTE_MARSHALLER);
  static final MethodDescriptor.Marshaller<String> TEXT = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };
  static final MethodDescriptor<String, String> UNARY = method("Unary", MethodDescriptor.MethodType.UNARY);
  static final MethodDescriptor<String, String> SERVER_STREAM = method("ServerStream", MethodDescriptor.MethodType.SERVER_STREAMING);
  static final MethodDescriptor<String, String> CLIENT_STREAM = method("ClientStream", MethodDescriptor.MethodType.CLIENT_STREAMING);
  static final MethodDescriptor<String, String> BIDI = method("Bidi", MethodDescriptor.MethodType.BIDI_STREAMING);
  static final MethodDescriptor<String, String> FLOOD = method("Flood", MethodDescriptor.MethodType.SERVER_STREAMING);
  static final String CHUNK = "x".repeat(64 * 1024);

  static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<String, String>newBuilder().setType(type).setFullMethodName("test.Echo/" + name).setRequestMarshaller(TEXT)
        .setResponseMarshaller(TEXT).build();
  }

  /** One real instance of {@code test.Echo}: answers with its name, and records what reached it. */
  static final class EchoInstance implements AutoCloseable {
    final String name;
    final int port = FreePorts.next();
    final List<String> seenHeaders = new CopyOnWriteArrayList<>();
    final List<String> seenClientIds = new CopyOnWriteArrayList<>();
    final List<Long> seenDeadlineMillis = new CopyOnWriteArrayList<>();
    final List<String> cancelled = new CopyOnWriteArrayList<>();
    /** Unary calls asked to "hold": unanswered until the test answers them. */
    final List<StreamObserver<String>> held = new CopyOnWriteArrayList<>();
    final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.concurrent.atomic.AtomicInteger flooded = new java.util.concurrent.atomic.AtomicInteger();
    /** When set, every unary call is answered with this status. */
    volatile Status failWith;
    final Server server;

    EchoInstance(String name) throws IOException {
      this(name, Integer.MAX_VALUE);
    }

    /** An instance whose server takes at most {@code maxCallsPerConnection} calls at once on each connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
    EchoInstance(String name, int maxCallsPerConnection) throws IOException {
      this.name = name;
      ServerServiceDefinition echo = ServerServiceDefinition.builder("test.Echo")
          .addMethod(UNARY, ServerCalls.asyncUnaryCall(this::unary))
          .addMethod(SERVER_STREAM, ServerCalls.asyncServerStreamingCall((String request, StreamObserver<String> out) -> {
            int n = Integer.parseInt(request);
            for (int i = 0; i < n; i++) {
              out.onNext(name + ":" + i);
            }
            out.onCompleted();
          }))
          .addMethod(CLIENT_STREAM, ServerCalls.asyncClientStreamingCall(out -> new StreamObserver<String>() {
            private final StringBuilder all = new StringBuilder();

            @Override
            public void onNext(String value) {
              all.append(value);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {
              out.onNext(name + ":" + all);
              out.onCompleted();
            }
          }))
          .addMethod(FLOOD, ServerCalls.asyncServerStreamingCall((String request, StreamObserver<String> out) -> {
            ServerCallStreamObserver<String> o = (ServerCallStreamObserver<String>) out;
            o.setOnCancelHandler(() -> cancelled.add("flood"));
            o.setOnReadyHandler(() -> { // sends 64 kB chunks for as long as its stream takes them
              while (o.isReady() && !o.isCancelled()) {
                o.onNext(CHUNK);
                flooded.incrementAndGet();
              }
            });
          }))
          .addMethod(BIDI, ServerCalls.asyncBidiStreamingCall(out -> {
            ((ServerCallStreamObserver<String>) out).setOnCancelHandler(() -> cancelled.add("bidi"));
            return new StreamObserver<String>() {
              @Override
              public void onNext(String value) {
                out.onNext(name + ":" + value);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {
                out.onCompleted();
              }
            };
          }))
          .build();
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).maxInboundMetadataSize(64 * 1024) // the broker must refuse large headers itself
          .maxConcurrentCallsPerConnection(maxCallsPerConnection)
          .addService(io.grpc.ServerInterceptors.intercept(echo, new io.grpc.ServerInterceptor() {
            @Override
            public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, Metadata headers,
                io.grpc.ServerCallHandler<Q, R> next) {
              calls.incrementAndGet();
              seenHeaders.add(headers.get(TEST_HEADER));
              String clientId = headers.get(Metadata.Key.of("linkbridge-client-id", Metadata.ASCII_STRING_MARSHALLER));
              if (clientId != null) {
                seenClientIds.add(clientId);
              }
              Deadline d = Context.current().getDeadline();
              seenDeadlineMillis.add(d == null ? -1 : d.timeRemaining(TimeUnit.MILLISECONDS));
              return next.startCall(new io.grpc.ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                @Override
                public void sendHeaders(Metadata responseHeaders) {
                  responseHeaders.put(ECHO_HEADER, String.valueOf(headers.get(TEST_HEADER)));
                  super.sendHeaders(responseHeaders);
                }

                @Override
                public void close(Status status, Metadata trailers) {
                  trailers.put(TRAILER, name);
                  super.close(status, trailers);
                }
              }, headers);
            }
          }))
          .build().start();
    }

    private void unary(String request, StreamObserver<String> out) {
      Status failure = failWith;
      if (failure != null) {
        out.onError(failure.withDescription("instance " + name + " fails").asRuntimeException());
      } else if (request.equals("fail")) {
        Metadata trailers = new Metadata();
        trailers.put(DETAILS, new byte[] {1, 2, 3, (byte) 0xff});
        out.onError(Status.FAILED_PRECONDITION.withDescription("instance " + name + " refuses").asRuntimeException(trailers));
      } else if (request.equals("hold")) {
        held.add(out);
      } else if (request.equals("sleep")) {
        ((ServerCallStreamObserver<String>) out).setOnCancelHandler(() -> cancelled.add("sleep"));
      } else {
        out.onNext(name + ":" + request);
        out.onCompleted();
      }
    }

    ServiceInstance instance(String service) {
      return ServiceInstance.builder(service).id(name).endpoint("127.0.0.1", port).grpcService("test.Echo").build();
    }

    @Override
    public void close() {
      server.shutdownNow();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @TempDir Path dir;
  Node node;
  /** Where the calls go: the broker's API address, or its proxy port ({@link #onProxyPort}). */
  ManagedChannel channel;
  /** The broker's API address. */
  ManagedChannel api;
  EchoInstance a;
  EchoInstance b;

  /** Whether the calls go to the broker's dedicated proxy port (its frame path) instead of its API address. */
  boolean onProxyPort() {
    return false;
  }

  @BeforeEach
  void start() throws IOException {
    int port = FreePorts.next();
    int proxyPort = FreePorts.next();
    io.linkbridge.NodeBuilder builder = LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + FreePorts.next())
        .address("127.0.0.1:" + port).dataDir(dir).consensus(new LocalConsensusProvider());
    node = (onProxyPort() ? builder.proxyAddress("127.0.0.1:" + proxyPort) : builder).start();
    NodeLeakCheck.track(node);
    api = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    channel = onProxyPort() ? NettyChannelBuilder.forAddress("127.0.0.1", proxyPort).usePlaintext().build() : api;
    a = new EchoInstance("a");
    b = new EchoInstance("b");
    node.registry().register(a.instance("echo")).join();
    node.registry().register(b.instance("echo")).join();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    api.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    node.shutdownNow();
    a.close();
    b.close();
  }

  String unary(String request) {
    return ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), request);
  }

  @Test
  void unaryCalls_reachBothInstancesInTurn_withHeadersAndTrailersBothWays() {
    List<String> answers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      answers.add(unary("hi" + i));
    }
    assertThat(answers).extracting(s -> s.substring(2)).containsExactly("hi0", "hi1", "hi2", "hi3");
    List<String> by = answers.stream().map(s -> s.substring(0, 1)).toList();
    assertThat(by).containsOnly("a", "b");
    for (int i = 1; i < by.size(); i++) {
      assertThat(by.get(i)).as("round robin: %s", by).isNotEqualTo(by.get(i - 1));
    }

    Metadata sent = new Metadata();
    sent.put(TEST_HEADER, "hello");
    sent.put(Metadata.Key.of("linkbridge-client-id", Metadata.ASCII_STRING_MARSHALLER), "the-callers-session");
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    String answer = ClientCalls.blockingUnaryCall(io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(sent),
        MetadataUtils.newCaptureMetadataInterceptor(headers, trailers)), UNARY, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "x");
    assertThat(a.seenHeaders.contains("hello") || b.seenHeaders.contains("hello")).isTrue();
    assertThat(headers.get().get(ECHO_HEADER)).isEqualTo("hello");
    assertThat(trailers.get().get(TRAILER)).isEqualTo(answer.substring(0, 1));
    assertThat(a.seenClientIds).isEmpty(); // the caller's session with the broker stays with the broker
    assertThat(b.seenClientIds).isEmpty();
  }

  /** Messages are read at their length in one piece, or whole from a decompressing stream: either way byte for byte. */
  @Test
  void largeAndCompressedMessages_passByteForByte() {
    java.util.Random random = new java.util.Random(7);
    StringBuilder large = new StringBuilder();
    while (large.length() < 3 * 1024 * 1024) { // spans many HTTP/2 frames and transport buffers
      large.append((char) ('a' + random.nextInt(26)));
    }
    String request = large.toString();
    assertThat(unary(request)).endsWith(":" + request);
    for (String compression : List.of("gzip", "identity")) {
      String answer = ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT.withCompression(compression)
          .withDeadlineAfter(5, TimeUnit.SECONDS), request);
      assertThat(answer).as(compression).endsWith(":" + request);
    }
  }

  /**
   * HTTP/2 rapid reset: a connection that starts and cancels calls faster than the broker's limit is
   * closed, ending what else it carried; other connections go on.
   */
  @Test
  void aConnectionThatResetsStreamsFasterThanTheLimit_isClosed_othersGoOn() throws InterruptedException {
    ManagedChannel attacker = NettyChannelBuilder.forTarget(channel.authority()).usePlaintext().directExecutor().build();
    try {
      AtomicReference<Status> canary = new AtomicReference<>();
      ClientCall<String, String> open = attacker.newCall(UNARY, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS));
      open.start(new ClientCall.Listener<>() {
        @Override
        public void onClose(Status status, Metadata trailers) {
          canary.set(status);
        }
      }, new Metadata());
      open.sendMessage("sleep"); // the instance never answers: the call stays open on the attacker's connection
      open.halfClose();
      open.request(1);
      long started = System.nanoTime();
      int sent = 0;
      while (canary.get() == null && sent < 3 * 30_000 && System.nanoTime() - started < TimeUnit.SECONDS.toNanos(9)) {
        ClientCall<String, String> call = attacker.newCall(UNARY, CallOptions.DEFAULT);
        call.start(new ClientCall.Listener<>() {}, new Metadata());
        call.sendMessage("sleep");
        call.request(1);
        call.cancel("reset", null); // RST_STREAM
        sent++;
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> canary.get() != null);
      // the GOAWAY (ENHANCE_YOUR_CALM, too_many_rststreams) ends the open call: RESOURCE_EXHAUSTED, or UNAVAILABLE when the connection's close wins
      assertThat(canary.get().getCode()).as("%s after %d resets", canary.get(), sent).isIn(Status.Code.RESOURCE_EXHAUSTED,
          Status.Code.UNAVAILABLE);
      assertThat(sent).isGreaterThan(30_000);
      assertThat(unary("still")).endsWith(":still"); // another connection
    } finally {
      attacker.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void weights_interleave_andEachRouteTakesItsOwnTurns() {
    node.registry().register(a.instance("echo").toBuilder().weight(2).build()).join();
    List<String> by = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      by.add(unary("w").substring(0, 1));
    }
    assertThat(by.stream().filter("a"::equals).count()).isEqualTo(20);
    assertThat(String.join("", by)).doesNotContain("aaa").doesNotContain("bb"); // smooth: a, b, a, a, b, a ...

    node.registry().register(a.instance("echo")).join(); // weight 1 again
    Metadata pick = new Metadata();
    pick.put(Metadata.Key.of("linkbridge-service", Metadata.ASCII_STRING_MARSHALLER), "echo");
    Channel named = io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(pick));
    List<String> plain = new ArrayList<>();
    for (int i = 0; i < 10; i++) { // two routes called in turn: each still alternates over both instances
      plain.add(unary("p").substring(0, 1));
      ClientCalls.blockingUnaryCall(named, UNARY, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "n");
    }
    assertThat(plain).containsOnly("a", "b").filteredOn("a"::equals).hasSize(5);
  }

  @Test
  void aMethodOfTheBrokersOwnServices_isNeverProxied() {
    node.registry().register(a.instance("echo").toBuilder().grpcService("grpc.health.v1.Health").build()).join();
    MethodDescriptor<String, String> list = MethodDescriptor.<String, String>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName("grpc.health.v1.Health/NoSuchMethod").setRequestMarshaller(TEXT).setResponseMarshaller(TEXT).build();
    assertThat(status(() -> ClientCalls.blockingUnaryCall(channel, list, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), ""))
        .getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
    assertThat(a.calls.get()).isZero();
  }

  @Test
  void anErrorStatus_comesBackUnchanged_withItsDetails() {
    assertThatThrownBy(() -> unary("fail")).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(e.getStatus().getDescription()).matches("instance [ab] refuses");
      assertThat(e.getTrailers().get(DETAILS)).containsExactly(1, 2, 3, 0xff);
    });
  }

  @Test
  void theCallersDeadline_travelsAsTheTimeLeft_andItsExpiryCancelsTheInstancesCall() {
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT.withDeadlineAfter(700, TimeUnit.MILLISECONDS),
        "sleep")).isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
        .isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    List<Long> deadlines = new ArrayList<>(a.seenDeadlineMillis);
    deadlines.addAll(b.seenDeadlineMillis);
    assertThat(deadlines).singleElement().satisfies(ms -> assertThat(ms).isBetween(1L, 700L));
    await().atMost(Duration.ofSeconds(5)).until(() -> a.cancelled.contains("sleep") || b.cancelled.contains("sleep"));
  }

  @Test
  void everyStreamingKind_passesEveryMessage_andACancelReachesTheInstance() {
    Iterator<String> stream = ClientCalls.blockingServerStreamingCall(channel, SERVER_STREAM,
        CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), "500");
    List<String> got = new ArrayList<>();
    stream.forEachRemaining(got::add);
    assertThat(got).hasSize(500);
    assertThat(got.get(499)).endsWith(":499");

    Collector client = new Collector();
    StreamObserver<String> upload = ClientCalls.asyncClientStreamingCall(channel.newCall(CLIENT_STREAM, CallOptions.DEFAULT), client);
    for (int i = 0; i < 100; i++) {
      upload.onNext(Integer.toString(i % 10));
    }
    upload.onCompleted();
    await().atMost(Duration.ofSeconds(5)).until(() -> client.done);
    assertThat(client.values).singleElement().satisfies(v -> assertThat(v.substring(2)).isEqualTo("0123456789".repeat(10)));

    Collector bidi = new Collector();
    ClientCall<String, String> call = channel.newCall(BIDI, CallOptions.DEFAULT);
    StreamObserver<String> chat = ClientCalls.asyncBidiStreamingCall(call, bidi);
    chat.onNext("one");
    chat.onNext("two");
    await().atMost(Duration.ofSeconds(5)).until(() -> bidi.values.size() == 2);
    assertThat(bidi.values).extracting(v -> v.substring(2)).containsExactly("one", "two");
    call.cancel("the test cancels", null);
    await().atMost(Duration.ofSeconds(5)).until(() -> a.cancelled.contains("bidi") || b.cancelled.contains("bidi"));
  }

  @Test
  void aDrainingInstance_takesNoNewCall_theServiceHeaderChoosesTheService() throws IOException {
    node.registry().register(a.instance("echo").withState(InstanceState.DRAINING)).join();
    for (int i = 0; i < 6; i++) {
      assertThat(unary("x")).isEqualTo("b:x");
    }
    try (EchoInstance c = new EchoInstance("c")) {
      node.registry().register(c.instance("other-echo")).join();
      Metadata pick = new Metadata();
      pick.put(Metadata.Key.of("linkbridge-service", Metadata.ASCII_STRING_MARSHALLER), "other-echo");
      for (int i = 0; i < 3; i++) {
        assertThat(ClientCalls.blockingUnaryCall(io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(pick)), UNARY,
            CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "x")).isEqualTo("c:x");
      }
    }
  }

  @Test
  void aCallToAnInstanceThatIsGone_goesOnceToAnother_otherFailuresAreNotRetried() {
    node.registry().register(ServiceInstance.builder("echo").id("gone").endpoint("127.0.0.1", FreePorts.next()).grpcService("test.Echo")
        .build()).join(); // registered, but nothing listens there
    for (int i = 0; i < 12; i++) {
      assertThat(unary("x" + i)).matches("[ab]:x" + i);
    }
    int before = a.calls.get() + b.calls.get();
    assertThat(status(() -> unary("fail")).getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(a.calls.get() + b.calls.get()).isEqualTo(before + 1); // an answer from the instance is never retried

    a.close();
    b.close(); // every instance gone: one retry, then the caller gets the failure
    assertThat(status(() -> unary("y")).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  /**
   * A reader that stops reading while its instance keeps sending: flow control holds the instance
   * back, so the broker holds a bounded amount of the stream (one message and the HTTP/2 windows).
   */
  @Test
  void aReaderThatStopsReading_holdsTheInstanceBack_theBrokerHoldsABoundedAmount() {
    ClientCall<String, String> call = channel.newCall(FLOOD, CallOptions.DEFAULT);
    List<String> got = new CopyOnWriteArrayList<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(String message) {
        got.add(message);
      }
    }, new Metadata());
    call.sendMessage("go");
    call.halfClose();
    call.request(2); // reads two messages, then nothing
    EchoInstance sender = await().atMost(Duration.ofSeconds(5)).until(() -> a.flooded.get() > 0 ? a : b.flooded.get() > 0 ? b : null,
        java.util.Objects::nonNull);
    int[] last = {-1};
    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(500)).until(() -> {
      int n = sender.flooded.get();
      boolean stopped = n == last[0]; // no more sent since the last look: its stream takes no more
      last[0] = n;
      return stopped;
    });
    int held = sender.flooded.get() - got.size();
    assertThat(held).as("64 kB messages sent by the instance and not read").isLessThan(100); // about 6 MiB at most, across 3 hops
    call.request(10); // reading again: the instance goes on
    await().atMost(Duration.ofSeconds(5)).until(() -> got.size() == 12);
    call.cancel("done", null);
    await().atMost(Duration.ofSeconds(5)).until(() -> sender.cancelled.contains("flood"));
  }

  @Test
  void callsThatCannotBeRouted_getAStatusNamingWhy_andTheBrokersOwnServicesKeepWorking() {
    MethodDescriptor<String, String> unknown = MethodDescriptor.<String, String>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName("nobody.Serves/This").setRequestMarshaller(TEXT).setResponseMarshaller(TEXT).build();
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, unknown, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "x"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(e.getStatus().getDescription()).contains("nobody.Serves", "takes calls");
        });
    assertThat(status(badHeader("no such/name"))).satisfies(s -> {
      assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(s.getDescription()).contains("linkbridge-service");
    });
    assertThat(status(badHeader("missing"))).satisfies(s -> {
      assertThat(s.getCode()).isEqualTo(Status.Code.NOT_FOUND);
      assertThat(s.getDescription()).contains("'missing'");
    });
    MethodDescriptor<String, String> noMethod = MethodDescriptor.<String, String>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName("test.Echo/").setRequestMarshaller(TEXT).setResponseMarshaller(TEXT).build();
    assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, noMethod, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "x"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("/package.Service/Method");
        });
    assertThat(DiscoveryServiceGrpc.newBlockingStub(api).withDeadlineAfter(5, TimeUnit.SECONDS)
        .discover(DiscoverRequest.newBuilder().setService("echo").build()).getInstancesCount()).isEqualTo(2);
  }

  /**
   * Request headers beyond gRPC's default 8 KiB, from a client that ignores the limit the broker
   * advertises (gRPC libraries refuse to send them): the stream is refused with HTTP 431 and no
   * instance sees the call; the connection's next call still goes through.
   */
  @Test
  void oversizedHeaders_areRefused_andTheConnectionGoesOn() throws Exception {
    try (RawHttp2Client raw = new RawHttp2Client(channel.authority())) {
      raw.call(3, "/test.Echo/Unary", Map.of("x-test", "h".repeat(9 * 1024)), "hi");
      assertThat(raw.next(5)).isEqualTo("3 headers 431 null");
      raw.call(5, "/test.Echo/Unary", Map.of("x-test", "small"), "hi");
      assertThat(raw.next(5)).isEqualTo("5 headers 200 null"); // the answer's headers, then its trailers
      assertThat(raw.next(5)).isEqualTo("5 headers null 0");
      assertThat(a.seenHeaders.size() + b.seenHeaders.size()).isEqualTo(1);
    }
  }

  /**
   * Headers beyond a quarter more than the 8 KiB limit are a connection error, as on any grpc-java
   * server (decoding them is refused, not just the call): that connection gets a GOAWAY and closes,
   * no instance sees the call, and the broker goes on serving other connections.
   */
  @Test
  void headersFarAboveTheLimit_closeThatConnection_andTheBrokerGoesOn() throws Exception {
    try (RawHttp2Client raw = new RawHttp2Client(channel.authority())) {
      raw.call(3, "/test.Echo/Unary", Map.of("x-test", "h".repeat(20 * 1024)), "hi"); // 15 KiB once HPACK-compressed
      assertThat(raw.next(5)).startsWith("goaway");
      await().atMost(Duration.ofSeconds(5)).until(() -> !raw.isOpen());
    }
    assertThat(a.seenHeaders.size() + b.seenHeaders.size()).isZero();
    assertThat(ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "after"))
        .endsWith(":after");
  }

  /**
   * An instance that takes one call at a time per connection: a second call waits on the broker
   * for its turn, as on a grpc-java channel, instead of failing, and goes through once the first ends.
   */
  @Test
  void callsBeyondAnInstancesStreamLimit_waitForTheirTurn() throws Exception {
    try (EchoInstance one = new EchoInstance("one", 1)) {
      node.registry().register(one.instance("single")).join();
      Metadata pick = new Metadata();
      pick.put(Metadata.Key.of("linkbridge-service", Metadata.ASCII_STRING_MARSHALLER), "single");
      Channel toOne = io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(pick));
      ClientCall<String, String> first = toOne.newCall(UNARY, CallOptions.DEFAULT);
      first.start(new ClientCall.Listener<>() {}, new Metadata());
      first.sendMessage("hold");
      first.halfClose();
      await().atMost(Duration.ofSeconds(5)).until(() -> one.calls.get() == 1);
      com.google.common.util.concurrent.ListenableFuture<String> second = io.grpc.stub.ClientCalls.futureUnaryCall(
          toOne.newCall(UNARY, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)), "next");
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> !second.isDone());
      one.held.forEach(out -> {
        out.onNext("held");
        out.onCompleted();
      });
      assertThat(second.get(5, TimeUnit.SECONDS)).isEqualTo("one:next");
    }
  }

  /** An instance registered by host name, not address: the broker looks the name up and the call goes through. */
  @Test
  void anInstanceRegisteredByHostName_isReached() {
    node.registry().register(ServiceInstance.builder("named").id("n").endpoint("localhost", a.port).grpcService("test.Echo").build()).join();
    Metadata pick = new Metadata();
    pick.put(Metadata.Key.of("linkbridge-service", Metadata.ASCII_STRING_MARSHALLER), "named");
    assertThat(ClientCalls.blockingUnaryCall(io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(pick)), UNARY,
        CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "hi")).isEqualTo("a:hi");
  }

  /**
   * Calls whose caller stopped reading, on a connection with 1,000-byte stream windows: each leaves
   * the broker a frame it could send only in part, more in all than the connection's window has left.
   * Another call on that connection still gets its answer at once, as it would from a gRPC server.
   */
  @Test
  void callsWhoseCallerStoppedReading_doNotHoldUpTheConnectionsOtherCalls() throws Exception {
    try (RawHttp2Client raw = new RawHttp2Client(channel.authority(), 1000)) {
      for (int id = 3; id <= 15; id += 2) {
        raw.stall(id);
        raw.call(id, "/test.Echo/Flood", Map.of(), "go");
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> a.flooded.get() + b.flooded.get() >= 7); // every flood is under way
      raw.call(17, "/test.Echo/Unary", Map.of(), "hi");
      await().atMost(Duration.ofSeconds(5)).until(() -> raw.saw("17 headers null 0"));
    }
  }

  /**
   * A caller that sends a deadline but does not enforce it, to an instance that accepted the
   * connection and never answers: the broker ends the call itself at the deadline, as a gRPC server
   * does.
   */
  @Test
  void aDeadlineTheCallerDoesNotEnforce_isEnforcedByTheBroker() throws Exception {
    try (java.net.ServerSocket hung = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        RawHttp2Client raw = new RawHttp2Client(channel.authority())) {
      List<java.net.Socket> accepted = new CopyOnWriteArrayList<>();
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            accepted.add(hung.accept()); // and never read or answer
          }
        } catch (IOException closed) {
          // the test is over
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      node.registry().register(ServiceInstance.builder("hung").id("h").endpoint("127.0.0.1", hung.getLocalPort()).grpcService("test.Hung")
          .build()).join();
      long start = System.nanoTime();
      raw.call(3, "/test.Hung/Call", Map.of("grpc-timeout", "700m"), "hi");
      // the proxy port answers with trailers only, DEADLINE_EXCEEDED; on the API address grpc-java's server resets the stream (CANCEL)
      assertThat(raw.next(10)).isEqualTo(onProxyPort() ? "3 headers 200 4" : "3 reset 8");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(600), Duration.ofSeconds(5));
      assertThat(accepted).as("the call went to the hung instance").isNotEmpty();
      accepted.forEach(socket -> {
        try {
          socket.close();
        } catch (IOException e) {
          // closing anyway
        }
      });
    }
  }

  private Runnable badHeader(String service) {
    Metadata pick = new Metadata();
    pick.put(Metadata.Key.of("linkbridge-service", Metadata.ASCII_STRING_MARSHALLER), service);
    return () -> ClientCalls.blockingUnaryCall(io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(pick)), UNARY,
        CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "x");
  }

  static Status status(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
    throw new AssertionError("the call succeeded");
  }

  static final class Collector implements StreamObserver<String> {
    final List<String> values = new CopyOnWriteArrayList<>();
    volatile boolean done;

    @Override
    public void onNext(String value) {
      values.add(value);
    }

    @Override
    public void onError(Throwable t) {
      done = true;
    }

    @Override
    public void onCompleted() {
      done = true;
    }
  }
}
