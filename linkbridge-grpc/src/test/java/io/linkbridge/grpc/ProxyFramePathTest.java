package io.linkbridge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Every promise {@link ProxyTest} checks on the broker's API address, checked again on its
 * dedicated proxy port, whose calls take the frame path (HTTP/2 frames passed on, not two grpc-java
 * calls): the same instances, headers, trailers, details, deadlines, cancellation, streams, drain,
 * retry, flow control and errors.
 */
class ProxyFramePathTest extends ProxyTest {
  @Override
  boolean onProxyPort() {
    return true;
  }

  /**
   * A call the frame path hands to the broker's own proxy server (health) that the server ends with
   * a reset (its deadline passed) ends alone: another such call on the same connection goes on.
   */
  @Test
  void aHandedOnCallResetByTheBrokersServer_endsAlone() {
    HealthGrpc.HealthStub health = HealthGrpc.newStub(channel);
    List<ServingStatus> kept = new CopyOnWriteArrayList<>();
    AtomicReference<Status> keptEnded = new AtomicReference<>();
    health.watch(HealthCheckRequest.newBuilder().setService("test.Echo").build(), observer(kept, keptEnded));
    await().atMost(Duration.ofSeconds(5)).until(() -> kept.contains(ServingStatus.SERVING));
    AtomicReference<Status> shortEnded = new AtomicReference<>();
    health.withDeadlineAfter(300, TimeUnit.MILLISECONDS).watch(HealthCheckRequest.newBuilder().setService("test.Echo").build(),
        observer(new CopyOnWriteArrayList<>(), shortEnded));
    await().atMost(Duration.ofSeconds(5)).until(() -> shortEnded.get() != null);
    assertThat(shortEnded.get().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    node.registry().deregister("echo", "a").join();
    node.registry().deregister("echo", "b").join();
    await().atMost(Duration.ofSeconds(5)).until(() -> kept.contains(ServingStatus.SERVICE_UNKNOWN) || keptEnded.get() != null);
    assertThat(keptEnded.get()).as("the other watch").isNull();
  }

  private static StreamObserver<HealthCheckResponse> observer(List<ServingStatus> seen, AtomicReference<Status> ended) {
    return new StreamObserver<>() {
      @Override
      public void onNext(HealthCheckResponse r) {
        seen.add(r.getStatus());
      }

      @Override
      public void onError(Throwable t) {
        ended.set(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        ended.set(Status.OK);
      }
    };
  }
}
