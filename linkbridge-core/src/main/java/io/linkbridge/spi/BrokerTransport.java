package io.linkbridge.spi;

import io.linkbridge.ProxyStats;
import java.time.Duration;
import java.util.List;

/** A running client-facing server of one broker. Thread-safe. */
public interface BrokerTransport {

  /** What this transport's proxy has carried, per gRPC service, sorted by name; empty if it proxies nothing. */
  default List<ProxyStats> proxyStats() {
    return List.of();
  }

  /** Stops taking new calls; calls already open go on. Returns without waiting. */
  void shutdown();

  /** Stops at once, cancelling calls in flight, and releases the port before returning. */
  void shutdownNow();

  /**
   * Waits until the server has terminated after {@link #shutdown()} or {@link #shutdownNow()}: no
   * call open, the port released, its threads stopped. Returns whether it did within
   * {@code timeout}.
   */
  default boolean awaitTermination(Duration timeout) throws InterruptedException {
    return true; // a transport that cannot tell: its shutdownNow() is taken as final
  }
}
