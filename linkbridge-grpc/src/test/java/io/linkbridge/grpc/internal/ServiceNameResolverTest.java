package io.linkbridge.grpc.internal;

import static io.linkbridge.grpc.internal.FakeDiscoveryBroker.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.EquivalentAddressGroup;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.SynchronizationContext;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.linkbridge.grpc.LinkBridgeNameResolverProvider;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The {@code linkbridge:} resolver against scripted brokers and against none. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ServiceNameResolverTest {
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final List<NameResolver.ResolutionResult> results = new CopyOnWriteArrayList<>();
  private final SynchronizationContext sync = new SynchronizationContext((t, e) -> { throw new AssertionError(e); });

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  private FakeDiscoveryBroker broker() {
    FakeDiscoveryBroker b = new FakeDiscoveryBroker();
    closeables.add(b);
    return b;
  }

  private NameResolver resolver(String target) {
    NameResolver.Args args = NameResolver.Args.newBuilder().setDefaultPort(443).setProxyDetector(a -> null).setSynchronizationContext(sync)
        .setServiceConfigParser(new NameResolver.ServiceConfigParser() {
          @Override
          public NameResolver.ConfigOrError parseServiceConfig(Map<String, ?> rawServiceConfig) {
            return null;
          }
        }).build();
    NameResolver r = new LinkBridgeNameResolverProvider().newNameResolver(URI.create(target), args);
    closeables.add(0, () -> sync.execute(r::shutdown));
    sync.execute(() -> r.start(new NameResolver.Listener2() {
      @Override
      public void onResult(NameResolver.ResolutionResult result) {
        results.add(result);
      }

      @Override
      public void onError(Status error) {
        results.add(NameResolver.ResolutionResult.newBuilder().setAddressesOrError(io.grpc.StatusOr.fromStatus(error)).build());
      }
    }));
    return r;
  }

  @Test
  void noBrokerReachable_aCallWithoutDeadlineFailsFastWithUnavailableNamingTheBrokers() {
    String one = "127.0.0.1:" + FreePorts.next();
    String two = "127.0.0.1:" + FreePorts.next();
    ManagedChannel channel = Grpc.newChannelBuilder("linkbridge:///greeter?brokers=" + one + "," + two, InsecureChannelCredentials.create()).build();
    closeables.add(0, channel::shutdownNow);

    assertThatThrownBy(() -> HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance())) // no deadline
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(e.getStatus().getDescription()).contains("linkbridge:///greeter").contains(one).contains(two);
        });
  }

  @Test
  void addresses_carryTheInstancesWeightMetadataAndId() {
    FakeDiscoveryBroker a = broker();
    Instance heavy = FakeDiscoveryBroker.instance("g1").toBuilder().setWeight(7).putMetadata("zone", "eu-1a").build();
    a.onWatch = (b, c) -> c.send(snapshot(3, heavy, FakeDiscoveryBroker.instance("g2")));
    resolver("linkbridge:///greeter?brokers=" + a.address());

    await().atMost(Duration.ofSeconds(5)).until(() -> !results.isEmpty());
    List<EquivalentAddressGroup> eags = results.get(results.size() - 1).getAddressesOrError().getValue();
    assertThat(eags).hasSize(2);
    assertThat(eags.get(0).getAttributes().get(LinkBridgeNameResolverProvider.WEIGHT)).isEqualTo(7);
    assertThat(eags.get(0).getAttributes().get(LinkBridgeNameResolverProvider.METADATA)).containsEntry("zone", "eu-1a");
    assertThat(eags.get(0).getAttributes().get(LinkBridgeNameResolverProvider.INSTANCE_ID)).isEqualTo("g1");
    assertThat(eags.get(1).getAttributes().get(LinkBridgeNameResolverProvider.WEIGHT)).isEqualTo(1);
  }

  @Test
  void resolversOfOneBrokerList_shareOneClient_closedWithTheLast() {
    FakeDiscoveryBroker a = broker();
    List<String> brokers = List.of(a.address());
    NameResolver r1 = resolver("linkbridge:///greeter?brokers=" + a.address());
    NameResolver r2 = resolver("linkbridge:///orders?brokers=" + a.address());
    assertThat(SharedClients.users(brokers)).isEqualTo(2);

    sync.execute(r1::shutdown);
    assertThat(SharedClients.users(brokers)).isEqualTo(1);
    sync.execute(r2::shutdown);
    assertThat(SharedClients.users(brokers)).isZero();
  }

  @Test
  void refresh_whileTheWatchWaitsToRetry_retriesAtOnce() {
    FakeDiscoveryBroker a = broker();
    a.onWatch = (b, c) -> {
      if (b.watches.size() <= 5) {
        c.fail(Status.UNAVAILABLE.withDescription("not yet"));
      } else {
        c.send(snapshot(1, FakeDiscoveryBroker.instance("g1")));
      }
    };
    NameResolver r = resolver("linkbridge:///greeter?brokers=" + a.address());
    await().atMost(Duration.ofSeconds(10)).until(() -> a.watches.size() == 5);
    // after 5 failures the next attempt waits 4s (less up to 20%); refresh() makes it now
    await().atMost(Duration.ofMillis(2500)).pollInterval(Duration.ofMillis(100)).until(() -> {
      sync.execute(r::refresh);
      return a.watches.size() == 6;
    });
    await().atMost(Duration.ofSeconds(2)).until(() -> !results.isEmpty() && results.get(results.size() - 1).getAddressesOrError().hasValue());
  }
}
