package io.linkbridge.testing;

import io.linkbridge.spi.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A {@link Clock} that moves only when the test says so. Thread-safe. */
public final class FakeClock implements Clock {
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

  @Override
  public long nanoTime() {
    return nanos.get();
  }

  /** Moves the clock forward. */
  public FakeClock advance(Duration d) {
    nanos.addAndGet(d.toNanos());
    return this;
  }
}
