package io.linkbridge;

import java.util.List;
import java.util.Objects;

/**
 * A request of a client to the brokers failed: no broker answered within the retries, or a broker
 * answered with an error the client cannot retry. Carries the status the last broker gave (a gRPC
 * status code name such as {@code UNAVAILABLE}, {@code DEADLINE_EXCEEDED} or {@code OUT_OF_RANGE}),
 * the brokers tried, in order, and the transport's exception as the cause. Immutable.
 */
public class BrokerCallException extends LinkBridgeException {
  private static final long serialVersionUID = 1L;

  private final String status;
  private final List<String> brokersTried;

  public BrokerCallException(String message, String status, List<String> brokersTried, Throwable cause) {
    super(message, cause);
    this.status = Objects.requireNonNull(status, "status");
    this.brokersTried = List.copyOf(brokersTried);
  }

  /** The status code the last broker answered with, by its gRPC name ({@code UNAVAILABLE}, ...). */
  public String status() {
    return status;
  }

  /** The brokers ({@code host:port}) asked, in the order they were tried; a broker may appear more than once. */
  public List<String> brokersTried() {
    return brokersTried;
  }
}
