package io.linkbridge.bench;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Where watchers report an event they saw: counts the watchers that saw the expected key and keeps
 * the times of the first and the last. Thread-safe.
 */
final class EventSink {
  private volatile String expected;
  private final AtomicInteger seen = new AtomicInteger();
  private final AtomicLong first = new AtomicLong();
  private final AtomicLong last = new AtomicLong();

  /** Starts counting sightings of {@code key}. */
  void expect(String key) {
    seen.set(0);
    first.set(0);
    last.set(0);
    expected = key;
  }

  /** A watcher saw {@code key} now. */
  void seen(String key) {
    long now = System.nanoTime();
    if (key.equals(expected)) {
      first.compareAndSet(0, now);
      last.accumulateAndGet(now, Math::max);
      seen.incrementAndGet();
    }
  }

  /** Waits until {@code watchers} saw it; returns {first, last} in nanoTime. */
  long[] await(int watchers, long timeoutMillis) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (seen.get() < watchers) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("only " + seen.get() + " of " + watchers + " watchers saw " + expected + " within " + timeoutMillis + " ms");
      }
      LockSupport.parkNanos(50_000);
    }
    return new long[] {first.get(), last.get()};
  }
}
