package io.linkbridge;

/**
 * A write was refused at once, before it reached the log, because the broker already holds
 * {@code NodeBuilder.maxPendingWrites} writes waiting for the one committing now. Nothing was
 * written. Back off and retry, spread writes over time, or raise the limit.
 */
public class WriteLimitException extends LinkBridgeException {
  private static final long serialVersionUID = 1L;

  private final int limit;

  public WriteLimitException(int limit, String message) {
    super(message);
    this.limit = limit;
  }

  /** The limit that was reached ({@code maxPendingWrites}). */
  public int limit() {
    return limit;
  }
}
