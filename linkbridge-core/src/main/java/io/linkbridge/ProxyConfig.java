package io.linkbridge;

import java.time.Duration;
import java.util.Objects;

/**
 * How a broker proxies gRPC calls to instances (docs/proxy.md): how many calls it carries at once,
 * how it chooses an instance, and when it sets aside an instance that keeps failing. Immutable.
 *
 * @param maxCalls the most proxied calls this broker carries at once, 1..1,000,000; one more is
 *     refused with RESOURCE_EXHAUSTED naming this limit
 * @param maxCallsPerInstance the most proxied calls this broker sends one instance at once,
 *     1..1,000,000; an instance at its limit is skipped, and when every instance is, the call is
 *     refused with RESOURCE_EXHAUSTED naming this limit
 * @param balancing how the next instance is chosen
 * @param ejectAfterFailures failed calls in a row (UNAVAILABLE, no connection, or a deadline that
 *     passed before the call reached the instance) after which an instance is set aside, 0..1,000
 *     (0: never)
 * @param ejectionTime how long an instance is set aside the first time, 1s..1h; each further time
 *     it is ejected adds as much again, up to 10 times
 * @param stalledBytes what the broker may hold at most for stalled calls (calls one side of which
 *     has not taken the last message for {@code stallAge}), counted at the per-call bound of
 *     docs/proxy.md; beyond it the calls stalled longest end with RESOURCE_EXHAUSTED. 0: a quarter
 *     of the JVM's maximum heap; else 1 MiB..1 TiB
 * @param stallAge how long a call must have been stalled before it may be ended for
 *     {@code stalledBytes}, 1s..1h
 */
public record ProxyConfig(int maxCalls, int maxCallsPerInstance, Balancing balancing, int ejectAfterFailures, Duration ejectionTime,
    long stalledBytes, Duration stallAge) {
  /**
   * 10,000 calls, 1,000 per instance, round robin, set aside for 30 s after 5 failures in a row;
   * calls stalled for 10 s may hold a quarter of the heap.
   */
  public static final ProxyConfig DEFAULT = new ProxyConfig(10_000, 1_000, Balancing.ROUND_ROBIN, 5, Duration.ofSeconds(30), 0,
      Duration.ofSeconds(10));

  /** How the proxy chooses among the instances that take calls. */
  public enum Balancing {
    /** Smooth weighted round robin (as nginx does it): weights honoured, interleaved. */
    ROUND_ROBIN,
    /** The instance with the fewest calls in flight from this broker, relative to its weight; ties by round robin. */
    LEAST_OUTSTANDING
  }

  public ProxyConfig {
    Objects.requireNonNull(balancing, "balancing");
    Objects.requireNonNull(ejectionTime, "ejectionTime");
    Objects.requireNonNull(stallAge, "stallAge");
    if (maxCalls < 1 || maxCalls > 1_000_000) {
      throw new IllegalArgumentException("proxy maxCalls must be in 1..1000000, was " + maxCalls);
    }
    if (maxCallsPerInstance < 1 || maxCallsPerInstance > 1_000_000) {
      throw new IllegalArgumentException("proxy maxCallsPerInstance must be in 1..1000000, was " + maxCallsPerInstance);
    }
    if (ejectAfterFailures < 0 || ejectAfterFailures > 1_000) {
      throw new IllegalArgumentException("proxy ejectAfterFailures must be in 0..1000 (0: never eject), was " + ejectAfterFailures);
    }
    if (ejectionTime.compareTo(Duration.ofSeconds(1)) < 0 || ejectionTime.compareTo(Duration.ofHours(1)) > 0) {
      throw new IllegalArgumentException("proxy ejectionTime must be in 1s..1h, was " + Durations.format(ejectionTime));
    }
    if (stalledBytes != 0 && (stalledBytes < (1L << 20) || stalledBytes > (1L << 40))) {
      throw new IllegalArgumentException("proxy stalledBytes must be 0 (a quarter of the heap) or in 1 MiB..1 TiB (1048576..1099511627776),"
          + " was " + stalledBytes);
    }
    if (stallAge.compareTo(Duration.ofSeconds(1)) < 0 || stallAge.compareTo(Duration.ofHours(1)) > 0) {
      throw new IllegalArgumentException("proxy stallAge must be in 1s..1h, was " + Durations.format(stallAge));
    }
  }

  /** {@link #stalledBytes}, with 0 resolved against this JVM's maximum heap. */
  public long stalledBytesOrDefault() {
    return stalledBytes != 0 ? stalledBytes : Runtime.getRuntime().maxMemory() / 4;
  }

  /**
   * This configuration with another bound on stalled calls: at most {@code bytes} (0: a quarter of the
   * heap) for calls stalled at least {@code age}.
   */
  public ProxyConfig withStallLimit(long bytes, Duration age) {
    return new ProxyConfig(maxCalls, maxCallsPerInstance, balancing, ejectAfterFailures, ejectionTime, bytes, age);
  }

  /** This configuration with another limit of calls per broker. */
  public ProxyConfig withMaxCalls(int max) {
    return new ProxyConfig(max, maxCallsPerInstance, balancing, ejectAfterFailures, ejectionTime, stalledBytes, stallAge);
  }

  /** This configuration with another limit of calls per instance. */
  public ProxyConfig withMaxCallsPerInstance(int max) {
    return new ProxyConfig(maxCalls, max, balancing, ejectAfterFailures, ejectionTime, stalledBytes, stallAge);
  }

  /** This configuration with another way to choose an instance. */
  public ProxyConfig withBalancing(Balancing balancing) {
    return new ProxyConfig(maxCalls, maxCallsPerInstance, balancing, ejectAfterFailures, ejectionTime, stalledBytes, stallAge);
  }

  /** This configuration with another outlier ejection: after {@code failures} in a row (0: never), for {@code time}. */
  public ProxyConfig withEjection(int failures, Duration time) {
    return new ProxyConfig(maxCalls, maxCallsPerInstance, balancing, failures, time, stalledBytes, stallAge);
  }
}
