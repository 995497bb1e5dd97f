package io.linkbridge;

/**
 * A running watch of one service; it follows the client from broker to broker. Thread-safe.
 *
 * <p>A watch is {@link State#CONNECTING} until the first broker answers, then
 * {@link State#WATCHING}. When its broker fails (the stream ends, or the broker sends nothing for
 * three progress intervals: see {@link ClientBuilder#watchProgressInterval}) or announces that it
 * leaves, it is {@link State#RECONNECTING} and reopens on another broker from {@link #lastRevision()},
 * so no event is lost or delivered twice. A watch that cannot reconnect within its
 * {@link FailoverConfig} (or is refused for good) is {@link State#CLOSED} and says why to its
 * {@link StateListener}.
 */
public interface Watch extends AutoCloseable {

  /** Where a watch is in its life. */
  enum State {
    /** Opening its first stream; no event yet. */
    CONNECTING,
    /** A broker streams the service's changes to it. */
    WATCHING,
    /** Its broker failed or left; it reopens on another broker from its last revision. */
    RECONNECTING,
    /** Ended: closed by {@link #close()}, or given up (the state listener was told why). No event follows. */
    CLOSED
  }

  /**
   * Told each time a watch changes {@link State}, and again after every failed reconnect attempt.
   * Runs on a client thread ({@code linkbridge-client-callbacks} or {@code linkbridge-client-retries}),
   * never at the same time as another call for this watch (state or event); must not block.
   */
  @FunctionalInterface
  interface StateListener {
    /**
     * @param state the new state
     * @param cause why, for {@link State#RECONNECTING} after a failure and for {@link State#CLOSED}
     *     when the watch gave up (a {@link BrokerCallException} naming the brokers tried and the last
     *     status); null otherwise (a broker that announced it leaves is no failure)
     */
    void onStateChanged(State state, LinkBridgeException cause);
  }

  /** The revision of the last event delivered or progress reported by a broker (0 before the first). */
  long lastRevision();

  /** The state now. */
  State state();

  /** Stops the watch; no event is delivered after this returns. The state listener is not called. */
  @Override
  void close();
}
