package io.linkbridge.internal;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * Jittered exponential backoff for reconnects: the n-th wait is {@code initial × 2^n}, capped at
 * {@code max}, and then shortened by a random 0..20%, so that clients that lost the same broker at
 * the same moment do not come back to it in lock-step. A wait is never longer than {@code max}.
 * One instance per retry sequence; not thread-safe (a sequence runs on one thread at a time).
 */
public final class Backoff {
  /** The largest fraction a wait is shortened by. */
  public static final double JITTER = 0.2;

  private final long initialNanos;
  private final long maxNanos;
  private final DoubleSupplier random;
  private long nextNanos;

  /** Backoff from {@code initial} to {@code max}, jittered by {@link ThreadLocalRandom}. */
  public Backoff(Duration initial, Duration max) {
    this(initial, max, () -> ThreadLocalRandom.current().nextDouble());
  }

  /** @param random values in [0, 1): the share of {@link #JITTER} taken off each wait */
  public Backoff(Duration initial, Duration max, DoubleSupplier random) {
    if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("backoff needs 0 < initial <= max, was " + initial + " and " + max);
    }
    this.initialNanos = initial.toNanos();
    this.maxNanos = max.toNanos();
    this.random = random;
    this.nextNanos = initialNanos;
  }

  /** The wait before the next attempt; each call doubles the following one, up to the cap. */
  public long nextDelayNanos() {
    long base = nextNanos;
    nextNanos = base > maxNanos / 2 ? maxNanos : base * 2;
    return (long) (base * (1 - JITTER * random.getAsDouble()));
  }

  /** {@link #nextDelayNanos()} in milliseconds. */
  public long nextDelayMillis() {
    return Duration.ofNanos(nextDelayNanos()).toMillis();
  }

  /** After a success: the next wait is the initial one again. */
  public void reset() {
    nextNanos = initialNanos;
  }
}
