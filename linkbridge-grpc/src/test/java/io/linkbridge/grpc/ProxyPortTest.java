package io.linkbridge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Node;
import io.linkbridge.NodeBuilder;
import io.linkbridge.ShutdownConfig;
import io.linkbridge.grpc.v1.DiscoverRequest;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.spi.LocalConsensusProvider;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dedicated proxy port ({@code NodeBuilder.proxyAddress}): every call there is proxied, the
 * broker's own API is not served there, and {@code grpc.health.v1.Health} answers for the services
 * the broker routes to, following their instances.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProxyPortTest {
  @TempDir Path dir;

  private NodeBuilder broker(int apiPort, int proxyPort) {
    return LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + FreePorts.next()).address("127.0.0.1:" + apiPort)
        .proxyAddress("127.0.0.1:" + proxyPort).dataDir(dir).consensus(new LocalConsensusProvider());
  }

  @Test
  void everyCallThereIsProxied_andHealthFollowsTheInstancesOfEachService() throws Exception {
    int apiPort = FreePorts.next();
    int proxyPort = FreePorts.next();
    Node node = broker(apiPort, proxyPort).start();
    NodeLeakCheck.track(node);
    ManagedChannel proxy = NettyChannelBuilder.forAddress("127.0.0.1", proxyPort).usePlaintext().build();
    ManagedChannel api = NettyChannelBuilder.forAddress("127.0.0.1", apiPort).usePlaintext().build();
    try (ProxyTest.EchoInstance a = new ProxyTest.EchoInstance("a"); ProxyTest.EchoInstance b = new ProxyTest.EchoInstance("b")) {
      node.registry().register(a.instance("echo")).join();
      node.registry().register(b.instance("echo")).join();
      HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(proxy).withDeadlineAfter(5, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(status(health, "test.Echo")).isEqualTo(ServingStatus.SERVING));
      assertThat(status(health, "")).isEqualTo(ServingStatus.SERVING);
      assertThatThrownBy(() -> status(health, "nobody.Serves")).isInstanceOfSatisfying(StatusRuntimeException.class,
          e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));

      List<String> answers = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) {
        answers.add(ClientCalls.blockingUnaryCall(proxy, ProxyTest.UNARY, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "hi"));
      }
      assertThat(answers).containsOnly("a:hi", "b:hi").contains("a:hi", "b:hi");
      List<String> streamed = new java.util.ArrayList<>();
      ClientCalls.blockingServerStreamingCall(proxy, ProxyTest.SERVER_STREAM, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "3")
          .forEachRemaining(streamed::add);
      assertThat(streamed).hasSize(3);

      // the broker's own API is on its API address only: on the proxy port it is one more gRPC service no instance serves
      assertThatThrownBy(() -> DiscoveryServiceGrpc.newBlockingStub(proxy).withDeadlineAfter(5, TimeUnit.SECONDS)
          .discover(DiscoverRequest.newBuilder().setService("echo").build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("linkbridge.v1.DiscoveryService");
          });
      assertThat(DiscoveryServiceGrpc.newBlockingStub(api).withDeadlineAfter(5, TimeUnit.SECONDS)
          .discover(DiscoverRequest.newBuilder().setService("echo").build()).getInstancesCount()).isEqualTo(2);

      // a Watch gets each change: no instance taking calls, then none registered at all
      List<ServingStatus> watched = new CopyOnWriteArrayList<>();
      HealthGrpc.newStub(proxy).watch(HealthCheckRequest.newBuilder().setService("test.Echo").build(), new StreamObserver<>() {
        @Override
        public void onNext(HealthCheckResponse r) {
          watched.add(r.getStatus());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      });
      await().atMost(Duration.ofSeconds(5)).until(() -> watched.contains(ServingStatus.SERVING));
      node.registry().register(a.instance("echo").toBuilder().weight(0).build()).join();
      assertThat(status(health, "test.Echo")).as("b still takes calls").isEqualTo(ServingStatus.SERVING);
      node.registry().register(b.instance("echo").toBuilder().weight(0).build()).join();
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(status(health, "test.Echo")).isEqualTo(ServingStatus.NOT_SERVING));
      await().atMost(Duration.ofSeconds(5)).until(() -> watched.contains(ServingStatus.NOT_SERVING));
      node.registry().deregister("echo", "a").join();
      node.registry().deregister("echo", "b").join();
      await().atMost(Duration.ofSeconds(5)).until(() -> watched.contains(ServingStatus.SERVICE_UNKNOWN));
      assertThatThrownBy(() -> status(health, "test.Echo")).isInstanceOfSatisfying(StatusRuntimeException.class,
          e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    } finally {
      proxy.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      api.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      node.shutdownNow();
    }
    assertThat(canBind(proxyPort)).as("the proxy port is released").isTrue();
  }

  /**
   * A broker that leaves tells health-checking callers of its proxy port to go elsewhere (every
   * status NOT_SERVING) while it still carries their calls through the grace period, then closes
   * the proxy port with the API port.
   */
  @Test
  void aLeavingBroker_isNotServingOnItsProxyPort_carriesCallsThroughTheGrace_thenClosesIt() throws Exception {
    int apiPort = FreePorts.next();
    int proxyPort = FreePorts.next();
    Node node = broker(apiPort, proxyPort).shutdown(ShutdownConfig.DEFAULT.withGracePeriod(Duration.ofSeconds(4))).start();
    NodeLeakCheck.track(node);
    ManagedChannel proxy = NettyChannelBuilder.forAddress("127.0.0.1", proxyPort).usePlaintext().build();
    ManagedChannel api = NettyChannelBuilder.forAddress("127.0.0.1", apiPort).usePlaintext().build();
    try (ProxyTest.EchoInstance a = new ProxyTest.EchoInstance("a")) {
      node.registry().register(a.instance("echo")).join();
      HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(proxy).withDeadlineAfter(5, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(status(health, "test.Echo")).isEqualTo(ServingStatus.SERVING));
      // an agent that ignores the broker's notice (it does not move) keeps the broker in its grace period
      new RawAgent(api).register("stays", AgentServiceTest.instance("s1"));
      await().atMost(Duration.ofSeconds(5)).until(() -> node.registry().agents().stream().anyMatch(x -> x.id().equals("stays")));
      long leftAt = System.nanoTime();
      node.shutdown();
      await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> {
        assertThat(status(health, "")).isEqualTo(ServingStatus.NOT_SERVING);
        assertThat(status(health, "test.Echo")).isEqualTo(ServingStatus.NOT_SERVING);
      });
      assertThat(ClientCalls.blockingUnaryCall(proxy, ProxyTest.UNARY, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), "still"))
          .as("a leaving broker still carries calls").isEqualTo("a:still");
      assertThat(Duration.ofNanos(System.nanoTime() - leftAt)).as("checked within the grace period").isLessThan(Duration.ofSeconds(4));
      assertThat(node.awaitTermination(Duration.ofSeconds(20))).isTrue();
      assertThat(canBind(proxyPort)).as("the proxy port closed with the broker").isTrue();
      assertThat(canBind(apiPort)).as("the API port too").isTrue();
    } finally {
      proxy.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      api.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      node.shutdownNow();
    }
  }

  @Test
  void aProxyPortInUse_failsTheStartNamingIt_andReleasesTheApiPort() throws IOException {
    int apiPort = FreePorts.next();
    try (ServerSocket taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress("127.0.0.1", 0));
      int proxyPort = taken.getLocalPort();
      assertThatThrownBy(() -> broker(apiPort, proxyPort).start()).isInstanceOf(LinkBridgeException.class)
          .hasMessageContaining("cannot serve its proxy port on 127.0.0.1:" + proxyPort).hasMessageContaining("pick a free address");
    }
    assertThat(canBind(apiPort)).as("the API port is released").isTrue();
  }

  @Test
  void aProxyAddressMustBeAPortOfItsOwn_besideAnApiAddress() {
    int apiPort = FreePorts.next();
    int raftPort = FreePorts.next();
    NodeBuilder sameAsApi = LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + raftPort).address("127.0.0.1:" + apiPort)
        .proxyAddress("127.0.0.1:" + apiPort).dataDir(dir).consensus(new LocalConsensusProvider());
    assertThatThrownBy(sameAsApi::start).isInstanceOf(IllegalStateException.class).hasMessage("proxyAddress 127.0.0.1:" + apiPort
        + " must differ from address (127.0.0.1:" + apiPort + ") and raftAddress (127.0.0.1:" + raftPort + "): give the proxy a port of"
        + " its own, or leave proxyAddress unset to proxy on address");
    NodeBuilder noApi = LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + raftPort).proxyAddress("127.0.0.1:" + apiPort)
        .dataDir(dir).consensus(new LocalConsensusProvider());
    assertThatThrownBy(noApi::start).isInstanceOf(IllegalStateException.class).hasMessage("proxyAddress 127.0.0.1:" + apiPort
        + " needs address too: the proxy port is served beside the broker API; call address(\"host:port\") as well");
    assertThatThrownBy(() -> LinkBridge.node().proxyAddress("127.0.0.1:70000")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("proxyAddress");
  }

  private static ServingStatus status(HealthGrpc.HealthBlockingStub health, String service) {
    return health.check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
  }

  private static boolean canBind(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
