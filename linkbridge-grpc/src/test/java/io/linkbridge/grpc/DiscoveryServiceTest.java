package io.linkbridge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.DiscoverRequest;
import io.linkbridge.grpc.v1.DiscoverResponse;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.grpc.v1.GetAlternativesRequest;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.ListServicesRequest;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.grpc.v1.WatchRequest;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.spi.LocalConsensusProvider;
import io.linkbridge.testing.NodeLeakCheck;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The broker's discovery API, over real gRPC on loopback, on a single broker with an in-memory log. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DiscoveryServiceTest {
  @TempDir Path dir;
  private Node node;
  private ManagedChannel channel;
  private DiscoveryServiceGrpc.DiscoveryServiceBlockingStub discovery;

  @BeforeEach
  void start() {
    int port = FreePorts.next();
    node = LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + FreePorts.next()).address("127.0.0.1:" + port)
        .dataDir(dir).consensus(new LocalConsensusProvider()).start();
    NodeLeakCheck.track(node);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    discovery = DiscoveryServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    node.shutdownNow();
  }

  private long register(String id) {
    return node.registry().register(instance(id, "")).join();
  }

  private static ServiceInstance instance(String id, String agent) {
    return ServiceInstance.builder("greeter").id(id).endpoint("10.0.0.1", 9000).grpcService("helloworld.Greeter").agentId(agent).build();
  }

  @Test
  void discover_returnsTheInstancesTakingCalls_atTheRevisionRead() {
    register("g1");
    node.registry().register(instance("g2", "").toBuilder().weight(0).build()).join();
    DiscoverResponse r = discovery.discover(DiscoverRequest.newBuilder().setService("greeter").build());
    assertThat(r.getInstancesList()).extracting(Instance::getId).containsExactly("g1");
    assertThat(r.getRevision()).isEqualTo(2);
    assertThat(discovery.discover(DiscoverRequest.newBuilder().setService("greeter").setIncludeAll(true).build()).getInstancesList())
        .extracting(Instance::getId).containsExactly("g1", "g2");
  }

  @Test
  void discover_badServiceName_invalidArgumentNamingTheRule() {
    assertThatThrownBy(() -> discovery.discover(DiscoverRequest.newBuilder().setService("no spaces").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("service may contain only", "'no spaces'");
        });
    assertThatThrownBy(() -> discovery.discover(DiscoverRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getDescription()).isEqualTo("service must not be empty"));
    // the server still answers good requests
    assertThat(discovery.listServices(ListServicesRequest.getDefaultInstance()).getServicesList()).isEmpty();
  }

  @Test
  void getAlternatives_excludesTheNamedAndTheDraining() {
    register("g1");
    register("g2");
    register("g3");
    assertThat(discovery.getAlternatives(GetAlternativesRequest.newBuilder().setService("greeter").addExcludeIds("g2").build()).getInstancesList())
        .extracting(Instance::getId).containsExactly("g1", "g3");
  }

  @Test
  void garbageForARequest_isInvalidArgument_andTheBrokerGoesOnServing() {
    io.grpc.MethodDescriptor.Marshaller<byte[]> bytes = new io.grpc.MethodDescriptor.Marshaller<>() {
      @Override
      public java.io.InputStream stream(byte[] value) {
        return new java.io.ByteArrayInputStream(value);
      }

      @Override
      public byte[] parse(java.io.InputStream stream) {
        try {
          return stream.readAllBytes();
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
    };
    io.grpc.MethodDescriptor<byte[], byte[]> raw = DiscoveryServiceGrpc.getDiscoverMethod().toBuilder(bytes, bytes).build();
    byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07};
    assertThatThrownBy(() -> io.grpc.stub.ClientCalls.blockingUnaryCall(channel, raw, io.grpc.CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), garbage))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("linkbridge.v1.DiscoveryService/Discover", "not a valid protobuf message");
        });
    assertThat(discovery.listServices(ListServicesRequest.getDefaultInstance()).getServicesList()).isEmpty();
  }

  @Test
  void getAlternatives_ofAServiceWithNoInstance_isNotFound_ofOneWithNoOtherIsEmpty() {
    assertThatThrownBy(() -> discovery.getAlternatives(GetAlternativesRequest.newBuilder().setService("greeter").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
          assertThat(e.getStatus().getDescription()).contains("no instance of service greeter");
        });
    register("g1");
    assertThat(discovery.getAlternatives(GetAlternativesRequest.newBuilder().setService("greeter").addExcludeIds("g1").build())
        .getInstancesList()).isEmpty();
  }

  @Test
  void watch_fromARevisionInTheFuture_isOutOfRangeNamingTheBrokersRevision() {
    long r = register("g1");
    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    AtomicReference<Throwable> error = new AtomicReference<>();
    watch(Long.MAX_VALUE, events, error);
    await().atMost(Duration.ofSeconds(5)).until(() -> error.get() != null);
    Status status = Status.fromThrowable(error.get());
    assertThat(status.getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
    assertThat(status.getDescription()).contains("at revision " + r, "from_revision=0");
    assertThat(events).isEmpty();
  }

  @Test
  void watch_snapshotThenEveryChangeInRevisionOrder() {
    register("g1");
    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    watch(0, events, new AtomicReference<>());
    await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 1);
    assertThat(events.get(0).getType()).isEqualTo(WatchEvent.Type.SNAPSHOT);
    assertThat(events.get(0).getRevision()).isEqualTo(1);
    assertThat(events.get(0).getSnapshotList()).extracting(Instance::getId).containsExactly("g1");

    register("g2");
    node.registry().register(ServiceInstance.builder("other").id("o1").endpoint("h", 1).build()).join(); // another service
    node.registry().deregister("greeter", "g1").join();
    await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 3);
    assertThat(events.subList(1, 3)).extracting(WatchEvent::getType, WatchEvent::getRevision, e -> e.getInstance().getId())
        .containsExactly(org.assertj.core.groups.Tuple.tuple(WatchEvent.Type.ADDED, 2L, "g2"),
            org.assertj.core.groups.Tuple.tuple(WatchEvent.Type.REMOVED, 4L, "g1"));
  }

  @Test
  void watch_resumedFromARevision_deliversOnlyTheChangesAfterIt() {
    register("g1");
    long r2 = register("g2");
    register("g3");
    register("g4");
    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    watch(r2, events, new AtomicReference<>());
    await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 2);
    register("g5");
    await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 3);
    assertThat(events).extracting(e -> e.getInstance().getId()).containsExactly("g3", "g4", "g5");
    assertThat(events).extracting(WatchEvent::getRevision).containsExactly(3L, 4L, 5L);
  }

  @Test
  void watch_negativeRevision_invalidArgument() {
    AtomicReference<Throwable> error = new AtomicReference<>();
    watch(-1, new CopyOnWriteArrayList<>(), error);
    await().atMost(Duration.ofSeconds(5)).until(() -> error.get() != null);
    assertThat(Status.fromThrowable(error.get()).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(Status.fromThrowable(error.get()).getDescription()).isEqualTo("from_revision must be >= 0, was -1");
  }

  @Test
  void watch_fromARevisionOlderThanTheHistory_outOfRangeWithTheFix() {
    List<java.util.concurrent.CompletableFuture<Long>> writes = new java.util.ArrayList<>();
    for (int i = 0; i < 10_050; i++) { // the broker keeps the last 10,000 events
      writes.add(node.registry().register(instance("g" + i, "")));
    }
    writes.forEach(java.util.concurrent.CompletableFuture::join);
    AtomicReference<Throwable> error = new AtomicReference<>();
    watch(5, new CopyOnWriteArrayList<>(), error);
    await().atMost(Duration.ofSeconds(5)).until(() -> error.get() != null);
    Status status = Status.fromThrowable(error.get());
    assertThat(status.getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
    assertThat(status.getDescription()).contains("revision 5", "from_revision=0");
    // a recent revision still resumes
    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    watch(10_049, events, new AtomicReference<>());
    await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 1);
    assertThat(events.get(0).getRevision()).isEqualTo(10_050);
  }

  @Test
  void agentDraining_watchersGetShutdownNoticeWithAlternatives() {
    ((DefaultNode) node).agentRegistrar().attach("agent-a", List.of(instance("g1", "agent-a")), null).join();
    register("g2");
    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    watch(0, events, new AtomicReference<>());
    await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 1);
    ((DefaultNode) node).agentRegistrar().drain("agent-a", null).join();
    await().atMost(Duration.ofSeconds(5)).until(() -> events.size() == 2);
    WatchEvent notice = events.get(1);
    assertThat(notice.getType()).isEqualTo(WatchEvent.Type.SHUTDOWN_NOTICE);
    assertThat(notice.getInstance().getId()).isEqualTo("g1");
    assertThat(notice.getAlternativesList()).extracting(Instance::getId).containsExactly("g2");
    assertThat(discovery.discover(DiscoverRequest.newBuilder().setService("greeter").build()).getInstancesList())
        .extracting(Instance::getId).containsExactly("g2");
  }

  @Test
  void health_servingForTheBrokerAndTheDiscoveryService() {
    HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
    assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    assertThat(health.check(HealthCheckRequest.newBuilder().setService("linkbridge.v1.DiscoveryService").build()).getStatus())
        .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
  }

  @Test
  void addressAlreadyInUse_startFailsNamingTheAddress() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      String address = "127.0.0.1:" + taken.getLocalPort();
      assertThatThrownBy(() -> LinkBridge.node().id("broker-9").raftAddress("127.0.0.1:" + FreePorts.next()).address(address)
          .dataDir(dir.resolve("b9")).consensus(new LocalConsensusProvider()).start())
          .isInstanceOf(LinkBridgeException.class).hasMessageContaining(address).hasMessageContaining("pick a free address");
    }
  }

  private void watch(long from, List<WatchEvent> events, AtomicReference<Throwable> error) {
    DiscoveryServiceGrpc.newStub(channel).watch(WatchRequest.newBuilder().setService("greeter").setFromRevision(from).build(), observer(events, error));
  }

  private static StreamObserver<WatchEvent> observer(List<WatchEvent> events, AtomicReference<Throwable> error) {
    return new StreamObserver<>() {
      @Override
      public void onNext(WatchEvent value) {
        events.add(value);
      }

      @Override
      public void onError(Throwable t) {
        error.set(t);
      }

      @Override
      public void onCompleted() {}
    };
  }
}
