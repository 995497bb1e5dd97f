package io.linkbridge.spi;

import java.util.Optional;

/**
 * The clients connected to this broker: local state, never replicated. A transport admits every
 * call of a client here first and tells it when streams open and close. Thread-safe.
 */
public interface ClientSessions {

  /**
   * Admits a call of {@code clientId}, opening its session if new. Returns why it is refused (the
   * broker is at its client limit), or empty.
   */
  Optional<String> admit(String clientId);

  /** A long-lived stream of the client opened: the session does not expire while one is open. */
  void streamOpened(String clientId);

  /** A stream of the client ended. */
  void streamClosed(String clientId);

  /** The sessions open now. */
  long count();
}
