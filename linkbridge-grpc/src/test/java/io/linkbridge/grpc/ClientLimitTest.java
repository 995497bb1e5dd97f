package io.linkbridge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.linkbridge.FailoverConfig;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.spi.LocalConsensusProvider;
import io.linkbridge.testing.NodeLeakCheck;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClientLimitTest {
  @TempDir Path dir;

  @Test
  void maxClients_nextClientGetsResourceExhaustedNamingTheLimit_connectedClientsUnaffected() {
    String address = "127.0.0.1:" + FreePorts.next();
    Node node = LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + FreePorts.next()).address(address).dataDir(dir)
        .maxClients(2).consensus(new LocalConsensusProvider()).start();
    NodeLeakCheck.track(node);
    FailoverConfig noRetry = FailoverConfig.builder().maxRetries(0).retryInterval(Duration.ofMillis(10)).build();
    try (LinkBridgeClient a = LinkBridge.client().brokers(address).failover(noRetry).build();
        LinkBridgeClient b = LinkBridge.client().brokers(address).failover(noRetry).build();
        LinkBridgeClient c = LinkBridge.client().brokers(address).failover(noRetry).build()) {
      node.registry().register(ServiceInstance.builder("greeter").id("g1").endpoint("h", 1).build()).join();
      assertThat(a.discover("greeter")).hasSize(1);
      assertThat(b.discover("greeter")).hasSize(1);
      assertThatThrownBy(() -> c.discover("greeter")).isInstanceOf(LinkBridgeException.class)
          .hasMessageContaining("RESOURCE_EXHAUSTED").hasMessageContaining("maximum of 2 clients");
      assertThat(a.discover("greeter")).hasSize(1);
      assertThat(node.metrics().localClients()).isEqualTo(2);
    } finally {
      node.shutdownNow();
    }
  }
}
