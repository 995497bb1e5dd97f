package io.linkbridge.spi;

/**
 * The clock liveness decisions read: it knows when this broker's own process was stalled (a GC pause,
 * SIGSTOP, a starved host), so a broker never blames its own stall on an agent or a peer. A silence
 * counts only from the end of the broker's last stall: after one, every window starts again.
 * Thread-safe; the methods do not block.
 */
public interface LivenessClock extends Clock {

  /**
   * How long something last heard from at {@code lastHeardNanos} (a {@link #nanoTime()} reading) has
   * been silent while this process was running: {@code now - max(lastHeardNanos, end of the last stall)}.
   */
  long silentNanos(long lastHeardNanos);

  /** A clock for tests and tools that never stalls: {@code silentNanos} is {@code now - lastHeardNanos}. */
  static LivenessClock of(Clock clock) {
    return new LivenessClock() {
      @Override
      public long nanoTime() {
        return clock.nanoTime();
      }

      @Override
      public long silentNanos(long lastHeardNanos) {
        return clock.nanoTime() - lastHeardNanos;
      }
    };
  }
}
