package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.linkbridge.Agent;
import io.linkbridge.LinkBridge;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A plain grpc-java channel on a {@code linkbridge://} target, against three brokers and two instances. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NameResolverTest {
  @TempDir Path dir;
  private TestCluster cluster;
  private final List<Server> servers = new ArrayList<>();
  private final List<AtomicInteger> served = List.of(new AtomicInteger(), new AtomicInteger());
  private final List<Integer> ports = new ArrayList<>();
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    cluster = TestCluster.serving(dir, 3, b -> b).start();
    for (int i = 0; i < 2; i++) {
      AtomicInteger counter = served.get(i);
      ServerInterceptor counting = new ServerInterceptor() {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
          counter.incrementAndGet();
          return next.startCall(call, headers);
        }
      };
      int port = FreePorts.next();
      ports.add(port);
      servers.add(NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
          .addService(ServerInterceptors.intercept(new HealthStatusManager().getHealthService(), counting)).build().start());
    }
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    servers.forEach(Server::shutdownNow);
    cluster.close();
  }

  private ServiceInstance greeter(int i) {
    return ServiceInstance.builder("greeter").id("greeter-" + (i + 1)).endpoint("127.0.0.1", ports.get(i)).build();
  }

  /** Makes {@code n} calls through the channel; returns how many each instance served. */
  private int[] call(int n) {
    int[] before = {served.get(0).get(), served.get(1).get()};
    HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(channel);
    for (int i = 0; i < n; i++) {
      stub.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance());
    }
    return new int[] {served.get(0).get() - before[0], served.get(1).get() - before[1]};
  }

  @Test
  void callsSpreadOverTheInstances_aDrainingInstanceGetsNoNewCall_noCallFails() {
    try (Agent agent = LinkBridge.agent().id("agent-a").brokers(cluster.api(0), cluster.api(1)).register(greeter(0)).register(greeter(1)).start()) {
      channel = Grpc.newChannelBuilder("linkbridge:///greeter?brokers=" + cluster.api(2) + "," + cluster.api(0), InsecureChannelCredentials.create())
          .defaultLoadBalancingPolicy("round_robin").build();
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> assertThat(call(10)).doesNotContain(0));

      agent.drain("greeter", "greeter-1");
      // the channel learns it from its watch: from then on every new call goes to greeter-2
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(call(10)[0]).isZero());
      assertThat(call(50)).containsExactly(0, 50);

      agent.register(greeter(0)); // UP again: calls spread again
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(call(10)).doesNotContain(0));
    }
  }

  @Test
  void allBrokersDownForSeconds_aLongLivedChannelRecovers_aNewInstanceGetsCalls() {
    try (Agent first = LinkBridge.agent().id("agent-a").brokers(cluster.api(0), cluster.api(1), cluster.api(2)).register(greeter(0)).start()) {
      channel = Grpc.newChannelBuilder("linkbridge:///greeter?brokers=" + cluster.api(0) + "," + cluster.api(1) + "," + cluster.api(2),
          InsecureChannelCredentials.create()).defaultLoadBalancingPolicy("round_robin").build();
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> assertThat(call(5)[0]).isEqualTo(5));
      assertThat(first.connectedBrokers()).hasSize(2);

      for (int i = 0; i < 3; i++) {
        cluster.kill(i);
      }
      // longer than the old resolver's give-up (3 retries, about 3.7s): its channel never recovered
      long downUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
      await().atMost(Duration.ofSeconds(20)).until(() -> System.nanoTime() >= downUntil);
      for (int i = 0; i < 3; i++) {
        cluster.start(i); // all at once: one alone has no quorum
      }
      cluster.awaitReady();

      try (Agent second = LinkBridge.agent().id("agent-b").brokers(cluster.api(1), cluster.api(2)).register(greeter(1)).start()) {
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().untilAsserted(() -> assertThat(call(10)[1]).isPositive());
        assertThat(second.connectedBrokers()).isNotEmpty();
      }
    }
  }

  @Test
  void oneBrokerAsTheAuthority_resolves() {
    try (Agent agent = LinkBridge.agent().id("agent-a").brokers(cluster.api(0)).register(greeter(1)).start()) {
      channel = Grpc.newChannelBuilder("linkbridge://" + cluster.api(1) + "/greeter", InsecureChannelCredentials.create()).build();
      // broker 2 may apply the registration (committed through broker 1) a moment after the channel's first look
      await().atMost(Duration.ofSeconds(5)).ignoreExceptions().untilAsserted(() -> assertThat(call(3)).containsExactly(0, 3));
      assertThat(agent.instances()).extracting(ServiceInstance::id).containsExactly("greeter-2");
    }
  }

  @Test
  void targetWithoutBrokers_refusedNamingTheForms() {
    assertThatThrownBy(() -> Grpc.newChannelBuilder("linkbridge:///greeter", InsecureChannelCredentials.create()).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("names no broker")
        .hasMessageContaining("linkbridge://host:port/service");
  }

  @Test
  void targetWithoutService_refusedNamingTheForm() {
    assertThatThrownBy(() -> Grpc.newChannelBuilder("linkbridge://" + cluster.api(0) + "/", InsecureChannelCredentials.create()).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("names no service")
        .hasMessageContaining("linkbridge:///service?brokers=host:port,host:port");
  }
}
