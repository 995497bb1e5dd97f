package io.linkbridge.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
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
}
