package io.linkbridge.spi;

/** A running client-facing server of one broker. Thread-safe. */
public interface BrokerTransport {

  /** Stops taking new calls and ends open streams gracefully; returns without waiting. */
  void shutdown();

  /** Stops at once, cancelling calls in flight, and releases the port before returning. */
  void shutdownNow();
}
