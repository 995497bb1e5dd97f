package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The standalone agent, run as {@code java -jar linkbridge-agent.jar --config agent.yaml} beside two
 * gRPC services whose health this test switches: the registry on every broker follows it.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SidecarAgentTest {
  private static final Path JAR = Path.of(System.getProperty("linkbridge.agent.jar", "linkbridge-agent/target/linkbridge-agent.jar"));

  @TempDir Path dir;
  private TestCluster cluster;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final TestService[] services = new TestService[2];
  private Process sidecar;

  /** A gRPC server that serves only the standard health service, whose status the test sets. */
  private static final class TestService {
    final int port;
    final HealthStatusManager health = new HealthStatusManager();
    Server server;

    TestService(int port) {
      this.port = port;
    }

    TestService start() throws IOException {
      health.setStatus("", ServingStatus.SERVING);
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).addService(health.getHealthService()).build().start();
      return this;
    }

    void stop() {
      server.shutdownNow();
    }
  }

  @BeforeEach
  void start() throws Exception {
    assertThat(JAR).as("the sidecar jar; build it with mvn -pl linkbridge-agent package").isRegularFile();
    cluster = TestCluster.serving(dir, 3, b -> b); // started by each test
    for (int i = 0; i < 3; i++) {
      channels.add(NettyChannelBuilder.forTarget(cluster.api(i)).usePlaintext().build());
    }
    for (int i = 0; i < services.length; i++) {
      services[i] = new TestService(FreePorts.next()).start();
    }
  }

  @AfterEach
  void stop() {
    if (sidecar != null) {
      sidecar.destroyForcibly();
    }
    for (TestService s : services) {
      if (s != null) {
        s.stop();
      }
    }
    channels.forEach(ManagedChannel::shutdownNow);
    cluster.close();
  }

  private Path config(String yaml) throws IOException {
    return Files.writeString(dir.resolve("agent.yaml"), yaml);
  }

  private Process startSidecar(Path config) throws IOException {
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m", "-jar", JAR.toString(),
        "--config", config.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("sidecar.log").toFile()).start();
  }

  private void startSidecarForBothServices() throws IOException {
    cluster.start();
    launchSidecarForBothServices();
    awaitOnEveryBroker(instances -> instances.stream().filter(ServiceInstance::takesCalls).count() == 2);
  }

  private void launchSidecarForBothServices() throws IOException {
    sidecar = startSidecar(config("""
        agent:
          id: greeter-sidecar
          brokers: [%s, %s, %s]
          connectTimeout: 500ms
          shutdownGrace: 500ms
          health: {interval: 100ms, timeout: 100ms, unreachableAfter: 2}
          instances:
            - {service: greeter, id: greeter-1, host: 127.0.0.1, port: %d, grpcServices: [helloworld.Greeter]}
            - {service: greeter, id: greeter-2, host: 127.0.0.1, port: %d}
        """.formatted(cluster.api(0), cluster.api(1), cluster.api(2), services[0].port, services[1].port)));
  }

  private void awaitOnEveryBroker(Predicate<List<ServiceInstance>> condition) {
    await().atMost(Duration.ofSeconds(20)).until(() -> cluster.running().stream().allMatch(b -> condition.test(b.registry().instances("greeter"))));
  }

  private List<List<WatchEvent>> watchOnEveryBroker() {
    List<List<WatchEvent>> watchers = List.of(Watches.collect(channels.get(0), "greeter"), Watches.collect(channels.get(1), "greeter"),
        Watches.collect(channels.get(2), "greeter"));
    await().atMost(Duration.ofSeconds(5)).until(() -> watchers.stream().allMatch(w -> !w.isEmpty()));
    return watchers;
  }

  private static List<WatchEvent> changesOf(List<WatchEvent> watcher, String instanceId) {
    return watcher.stream().filter(e -> e.getType() != WatchEvent.Type.SNAPSHOT && e.getInstance().getId().equals(instanceId)).toList();
  }

  @Test
  void registryFollowsTheServicesHealth_servingNotServingServingGoneBack() throws Exception {
    startSidecarForBothServices();
    assertThat(cluster.node(0).registry().instances("greeter")).extracting(ServiceInstance::id, ServiceInstance::agentId)
        .containsExactly(tuple("greeter-1", "greeter-sidecar"), tuple("greeter-2", "greeter-sidecar"));
    List<List<WatchEvent>> watchers = watchOnEveryBroker();

    services[0].health.setStatus("", ServingStatus.NOT_SERVING);
    awaitOnEveryBroker(instances -> instances.stream().filter(ServiceInstance::takesCalls).map(ServiceInstance::id).toList().equals(List.of("greeter-2")));

    services[0].health.setStatus("", ServingStatus.SERVING);
    awaitOnEveryBroker(instances -> instances.stream().filter(ServiceInstance::takesCalls).count() == 2);

    services[0].stop(); // the process is gone: no answer
    awaitOnEveryBroker(instances -> instances.stream().map(ServiceInstance::id).toList().equals(List.of("greeter-2")));

    services[0] = new TestService(services[0].port).start(); // back, on the port the sidecar checks
    awaitOnEveryBroker(instances -> instances.stream().filter(ServiceInstance::takesCalls).count() == 2);

    for (List<WatchEvent> w : watchers) {
      await().atMost(Duration.ofSeconds(5)).until(() -> changesOf(w, "greeter-1").size() == 4);
      List<WatchEvent> changes = changesOf(w, "greeter-1");
      assertThat(changes).extracting(WatchEvent::getType).containsExactly(WatchEvent.Type.SHUTDOWN_NOTICE, WatchEvent.Type.UPDATED,
          WatchEvent.Type.REMOVED, WatchEvent.Type.ADDED);
      assertThat(changes.get(0).getAlternativesList()).extracting(Instance::getId).containsExactly("greeter-2");
      assertThat(changesOf(w, "greeter-2")).isEmpty();
    }
  }

  @Test
  void sigterm_everyWatcherGetsTheNoticeBeforeTheRemoval() throws Exception {
    startSidecarForBothServices();
    List<List<WatchEvent>> watchers = watchOnEveryBroker();
    sidecar.destroy(); // SIGTERM
    assertThat(sidecar.waitFor(20, TimeUnit.SECONDS)).isTrue();
    awaitOnEveryBroker(List::isEmpty);
    for (List<WatchEvent> w : watchers) {
      for (String id : List.of("greeter-1", "greeter-2")) {
        await().atMost(Duration.ofSeconds(5)).until(() -> changesOf(w, id).size() == 2);
        assertThat(changesOf(w, id)).extracting(WatchEvent::getType).containsExactly(WatchEvent.Type.SHUTDOWN_NOTICE, WatchEvent.Type.REMOVED);
      }
    }
    assertThat(Files.readString(dir.resolve("sidecar.log"))).contains("is leaving");
  }

  @Test
  void sigkill_instancesLeaveEveryBroker() throws Exception {
    startSidecarForBothServices();
    sidecar.destroyForcibly(); // SIGKILL: no notice, the brokers' ping timeout finds it
    awaitOnEveryBroker(List::isEmpty);
  }

  @Test
  void healthServiceTheInstanceDoesNotKnow_neverRegistered_theLogSaysWhatToSet() throws Exception {
    cluster.start();
    sidecar = startSidecar(config("""
        agent:
          id: greeter-sidecar
          brokers: [%s]
          health: {interval: 100ms, timeout: 100ms}
          instances:
            - {service: greeter, id: greeter-1, host: 127.0.0.1, port: %d, healthService: helloworld.Missing}
            - {service: greeter, id: greeter-2, host: 127.0.0.1, port: %d}
        """.formatted(cluster.api(0), services[0].port, services[1].port)));
    awaitOnEveryBroker(instances -> instances.stream().map(ServiceInstance::id).toList().equals(List.of("greeter-2")));
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(dir.resolve("sidecar.log"))
        .contains("greeter/greeter-1: health check at 127.0.0.1:" + services[0].port + " failed: NOT_FOUND"));
    assertThat(Files.readString(dir.resolve("sidecar.log"))).contains("does not know 'helloworld.Missing': set healthService");
    assertThat(cluster.node(0).registry().instances("greeter")).extracting(ServiceInstance::id).containsExactly("greeter-2");
  }

  @Test
  void brokersNotUpYet_theSidecarRetriesUntilTheyAre() throws Exception {
    launchSidecarForBothServices();
    await().atMost(Duration.ofSeconds(20)).until(() -> Files.readString(dir.resolve("sidecar.log")).contains("found no broker"));
    cluster.start();
    awaitOnEveryBroker(instances -> instances.stream().filter(ServiceInstance::takesCalls).count() == 2);
    assertThat(sidecar.isAlive()).isTrue();
  }

  @Test
  void badConfiguration_exits2NamingTheKeyAndTheLine() throws Exception {
    Process p = startSidecar(config("""
        agent:
          id: greeter-sidecar
          brokers: [127.0.0.1:1]
          instances:
            - {service: greeter, id: greeter-1, host: 127.0.0.1, port: 0}
        """));
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(2);
    assertThat(Files.readString(dir.resolve("sidecar.log")))
        .contains("linkbridge-agent: agent.yaml:5:").contains("agent.instances[0].port must be a whole number in 1..65535, was '0'");
  }
}
