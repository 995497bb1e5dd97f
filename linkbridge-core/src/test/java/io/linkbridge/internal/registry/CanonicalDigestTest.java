package io.linkbridge.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.registry.RegistryCommand.AttachAgent;
import io.linkbridge.internal.registry.RegistryCommand.ChecksumMark;
import io.linkbridge.internal.registry.RegistryCommand.ChecksumReport;
import io.linkbridge.internal.registry.RegistryCommand.DetachAgent;
import io.linkbridge.internal.registry.RegistryCommand.RegisterInstance;
import io.linkbridge.registry.ClusterState;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class CanonicalDigestTest {

  private static RegistryStateMachine sample() {
    RegistryStateMachine sm = new RegistryStateMachine();
    sm.applyAll(List.of(new AttachAgent("a1", "b1"), new AttachAgent("a2", "b2"),
        new RegisterInstance(ServiceInstance.builder("pay").id("p-1").endpoint("10.0.0.1", 443).agentId("a1").weight(7)
            .metadata("zone", "eu-1").metadata("az", "b").grpcService("pay.v1.Payments").grpcService("grpc.health.v1.Health").build()),
        new RegisterInstance(ServiceInstance.builder("auth").id("a-1").endpoint("10.0.0.2", 8443).build()),
        new DetachAgent("a2", "b2")));
    return sm;
  }

  /**
   * The checksum is compared between brokers, possibly of different versions: the encoding must not
   * move. If this fails, the encoding changed; that is a breaking change for mixed-version clusters.
   */
  @Test
  void checksumOfAKnownState_isStableAcrossVersions() {
    assertThat(Long.toHexString(sample().state().checksum())).isEqualTo("100769e7e65fd449");
  }

  @Test
  void checksumMarksAndReports_changeNothing() {
    RegistryStateMachine sm = sample();
    ClusterState before = sm.state();
    sm.applyAll(List.of(new ChecksumMark("b1/1"), new ChecksumReport("b1/1", "b1", before.revision(), before.checksum())));
    assertThat(sm.state()).isSameAs(before);
  }
}
