package io.linkbridge;

import java.util.regex.Pattern;

/** Model rules shared by the records of this package. Every message names the field and the rule. */
final class Validation {
  static final int MAX_NAME_LENGTH = 253;
  static final int MAX_ID_LENGTH = 128;
  static final int MAX_METADATA_ENTRIES = 64;
  static final int MAX_METADATA_KEY_LENGTH = 63;
  static final int MAX_METADATA_VALUE_LENGTH = 512;
  static final int MAX_METADATA_BYTES = 4096;
  static final int MAX_WEIGHT = 10_000;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@-]*");
  /** A DNS name, an IPv4 address or an IPv6 address (with an optional zone): nothing a URL or a log line could be bent with. */
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9._-]+)?");
  private static final Pattern GRPC_SERVICE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*");

  private Validation() {}

  static String requireName(String field, String value) {
    return requirePattern(field, value, MAX_NAME_LENGTH, NAME, "letters, digits, '.', '_' and '-', starting with a letter or digit");
  }

  static String requireId(String field, String value) {
    return requirePattern(field, value, MAX_ID_LENGTH, ID, "letters, digits, '.', '_', ':', '@' and '-', starting with a letter or digit");
  }

  static String requireGrpcService(String field, String value) {
    return requirePattern(field, value, MAX_NAME_LENGTH, GRPC_SERVICE, "a fully qualified gRPC service name such as helloworld.Greeter");
  }

  static int requirePort(String field, int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(field + " must be in 1..65535, was " + port);
    }
    return port;
  }

  private static String requirePattern(String field, String value, int maxLength, Pattern pattern, String allowed) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException(field + " must not be empty");
    }
    if (value.length() > maxLength) {
      throw new IllegalArgumentException(field + " must be at most " + maxLength + " characters, was " + value.length() + " ('" + abbreviate(value) + "')");
    }
    if (!pattern.matcher(value).matches()) {
      throw new IllegalArgumentException(field + " may contain only " + allowed + ", was '" + abbreviate(value) + "'");
    }
    return value;
  }

  static String abbreviate(String value) {
    return value.length() <= 40 ? value : value.substring(0, 37) + "...";
  }

  static String requireHost(String name, String value) {
    if (value == null || value.isEmpty() || value.length() > MAX_NAME_LENGTH || !HOST.matcher(value).matches()) {
      throw new IllegalArgumentException(name + " must be a host name (letters, digits, '.', '-', '_'), an IPv4 address or an IPv6 address"
          + " without brackets, 1.." + MAX_NAME_LENGTH + " characters, was '" + printable(value) + "'");
    }
    return value;
  }

  /** The value with control characters escaped, so an error message stays one readable line. */
  static String printable(String value) {
    if (value == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder();
    value.codePoints().forEach(c -> {
      if (Character.isISOControl(c)) {
        b.append(String.format("\\u%04x", c));
      } else {
        b.appendCodePoint(c);
      }
    });
    return b.toString();
  }
}
