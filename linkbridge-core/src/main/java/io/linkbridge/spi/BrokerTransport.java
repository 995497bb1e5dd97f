package io.linkbridge.spi;

import io.linkbridge.HostAndPort;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A running client-facing server of one broker. Thread-safe. */
public interface BrokerTransport {

  /**
   * The first step of a graceful shutdown: the broker is leaving (its health is already NOT_SERVING
   * and its watches are told so by the hub). Tell each agent connected here to move to one of
   * {@code brokers} (when {@code notify}; otherwise end its stream now), and complete once no agent
   * stream is left and the detaches they caused are committed. The node waits for this at most its
   * grace period, then calls {@link #shutdown()} whatever is left.
   */
  default CompletableFuture<Void> leave(List<HostAndPort> brokers, boolean notify, Duration gracePeriod) {
    return CompletableFuture.completedFuture(null);
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
