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
import java.util.Map;
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
   * a reset (its deadline passed; the hand-made caller does not enforce it) ends alone, CANCELLED:
   * another such call on the same connection goes on.
   */
  @Test
  void aHandedOnCallResetByTheBrokersServer_endsAlone() throws Exception {
    String watchEcho = "\n\u0009test.Echo"; // HealthCheckRequest{service: "test.Echo"}
    try (RawHttp2Client raw = new RawHttp2Client(channel.authority())) {
      raw.call(3, "/grpc.health.v1.Health/Watch", Map.of(), watchEcho);
      assertThat(raw.next(5)).isEqualTo("3 headers 200 null");
      raw.call(5, "/grpc.health.v1.Health/Watch", Map.of("grpc-timeout", "300m"), watchEcho);
      assertThat(raw.next(5)).isEqualTo("5 headers 200 null");
      assertThat(raw.next(5)).isEqualTo("5 headers null 1"); // its trailers: CANCELLED
      assertThat(raw.next(1)).as("the other watch").isNull();
      assertThat(raw.isOpen()).isTrue();
    }
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
