package io.linkbridge;

/** The one unchecked exception family of Link Bridge. Messages say what went wrong, the value, and the fix. */
public class LinkBridgeException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LinkBridgeException(String message) {
    super(message);
  }

  public LinkBridgeException(String message, Throwable cause) {
    super(message, cause);
  }
}
