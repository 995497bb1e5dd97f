package io.linkbridge.spi;

/**
 * The monotonic time every timeout of a broker reads. The broker uses {@link #system()}; tests drive
 * liveness and expiry with a fake clock instead of sleeping. Implementations are thread-safe.
 */
@FunctionalInterface
public interface Clock {

  /** Nanoseconds from an arbitrary origin, never decreasing, like {@link System#nanoTime()}. */
  long nanoTime();

  /** {@link System#nanoTime()}. */
  static Clock system() {
    return System::nanoTime;
  }
}
