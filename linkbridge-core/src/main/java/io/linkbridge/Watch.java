package io.linkbridge;

/** A running watch of one service; it follows the client from broker to broker. Thread-safe. */
public interface Watch extends AutoCloseable {

  /** The revision of the last event delivered (0 before the first). */
  long lastRevision();

  /** Stops the watch; no event is delivered after this returns. */
  @Override
  void close();
}
