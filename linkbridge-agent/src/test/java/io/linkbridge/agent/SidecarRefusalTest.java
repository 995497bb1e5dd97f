package io.linkbridge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.linkbridge.Agent;
import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.spi.LocalConsensusProvider;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A sidecar whose instance id another agent owns stops (SidecarMain then exits 1) instead of retrying for ever. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SidecarRefusalTest {
  @TempDir Path dir;
  private Node node;
  private String api;
  private Server service;
  private int servicePort;

  @BeforeEach
  void start() throws Exception {
    api = "127.0.0.1:" + FreePorts.next();
    node = LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + FreePorts.next()).address(api).dataDir(dir)
        .consensus(new LocalConsensusProvider()).start();
    NodeLeakCheck.track(node);
    servicePort = FreePorts.next();
    HealthStatusManager health = new HealthStatusManager();
    health.setStatus("", ServingStatus.SERVING);
    service = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", servicePort)).addService(health.getHealthService()).build().start();
  }

  @AfterEach
  void stop() {
    service.shutdownNow();
    node.shutdownNow();
  }

  @Test
  void instanceIdOwnedByAnotherAgent_runThrowsTheRefusal_afterFewAttempts() throws Exception {
    try (Agent owner = LinkBridge.agent().id("owner").brokers(api)
        .register(ServiceInstance.builder("greeter").id("greeter-1").endpoint("127.0.0.1", servicePort).build()).start()) {
      long revisionBefore = node.registry().revision();
      Sidecar sidecar = new Sidecar(SidecarConfig.parse("""
          agent:
            id: intruder
            brokers: [%s]
            connectTimeout: 500ms
            shutdownGrace: 0ms
            health: {interval: 100ms, timeout: 100ms}
            instances:
              - {service: greeter, id: greeter-1, host: 127.0.0.1, port: %d}
          """.formatted(api, servicePort), "agent.yaml"));
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      Thread runner = new Thread(() -> {
        try {
          sidecar.run();
          thrown.set(new AssertionError("run() returned without the refusal"));
        } catch (Throwable t) {
          thrown.set(t);
        }
      }, "test-sidecar-run");
      runner.start();

      await().atMost(Duration.ofSeconds(15)).until(() -> thrown.get() != null);
      runner.join(5000);

      assertThat(thrown.get()).isInstanceOf(RegistrationRejectedException.class).hasMessageContaining("greeter-1");
      assertThat(((RegistrationRejectedException) thrown.get()).reason()).isEqualTo(RegistrationRejectedException.Reason.ALREADY_OWNED);
      assertThat(node.registry().instances("greeter")).extracting(ServiceInstance::agentId).containsExactly("owner");
      assertThat(node.registry().revision() - revisionBefore).as("Raft writes of the intruder").isLessThan(10);
      assertThat(owner.connectedBrokers()).containsExactly(api);
    }
  }
}
