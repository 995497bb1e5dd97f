package io.linkbridge;

/**
 * A {@code host:port} network address. Immutable.
 *
 * @param host the host name or IP address
 * @param port the TCP port, 1..65535 (0 is allowed only where the doc says "any free port")
 */
public record HostAndPort(String host, int port) {
  public HostAndPort {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("host must not be empty");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be in 1..65535, was " + port);
    }
  }

  /** Parses {@code host:port}; {@code field} names the setting in the error message. */
  public static HostAndPort parse(String field, String value) {
    if (value == null) {
      throw new IllegalArgumentException(field + " must be host:port, was null");
    }
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException(field + " must be host:port such as 127.0.0.1:7000, was '" + value + "'");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(field + " must end in a numeric port, was '" + value + "'");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(field + " port must be in 1..65535, was '" + value + "'");
    }
    return new HostAndPort(host, port);
  }

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
