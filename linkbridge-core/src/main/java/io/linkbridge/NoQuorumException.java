package io.linkbridge;

/** A write could not be committed because no majority of brokers answered in time. Retry later. */
public class NoQuorumException extends LinkBridgeException {
  private static final long serialVersionUID = 1L;

  public NoQuorumException(String message, Throwable cause) {
    super(message, cause);
  }
}
