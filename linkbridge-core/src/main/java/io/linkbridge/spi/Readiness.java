package io.linkbridge.spi;

import java.util.Optional;

/**
 * Whether this broker may serve discovery now. A broker serves only once it has caught up with the
 * cluster (its {@code ready()} barrier is applied); it stops for good when it can no longer trust its
 * storage (a failed fsync, a damaged log). While it does not serve, its health is NOT_SERVING and
 * discovery answers UNAVAILABLE with the reason, so clients go to another broker. Thread-safe.
 */
public interface Readiness {

  /** Empty while this broker serves; otherwise why it does not, and what to do. */
  Optional<String> notServing();

  /**
   * Whether this broker is leaving gracefully ({@code Node.shutdown()}): it no longer serves
   * discovery, but its view of the registry stays current until it has left, so what does not need
   * a new client (a proxied call) may still be carried.
   */
  default boolean leaving() {
    return false;
  }

  /** Runs {@code listener} after every change, on the thread that made it; it must not block. */
  void addListener(Runnable listener);
}
