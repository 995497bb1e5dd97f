package io.linkbridge;

import java.time.Duration;
import java.util.Objects;

/**
 * What one broker's proxy has carried for one gRPC service since the broker started
 * ({@link Node#proxyStats()}). Latencies are from the call's arrival to its end, over the calls that
 * ended, to within 1/16 of their value. Immutable.
 *
 * @param grpcService the gRPC service called, such as {@code helloworld.Greeter}
 * @param calls calls that ended (answered, failed or cancelled)
 * @param failures calls that ended with a status other than OK, refusals of the proxy included
 * @param inFlight calls open now
 * @param p50 the median latency
 * @param p99 the 99th percentile latency
 * @param max the longest call
 */
public record ProxyStats(String grpcService, long calls, long failures, int inFlight, Duration p50, Duration p99, Duration max) {
  public ProxyStats {
    Objects.requireNonNull(grpcService, "grpcService");
    Objects.requireNonNull(p50, "p50");
    Objects.requireNonNull(p99, "p99");
    Objects.requireNonNull(max, "max");
  }
}
