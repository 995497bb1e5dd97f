package io.linkbridge;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations written the way the configuration writes them: {@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h}. */
public final class Durations {
  private static final Pattern FORM = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private Durations() {}

  /** Parses {@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h} or {@code 1d}; {@code key} names the setting in errors. */
  public static Duration parse(String key, String value) {
    Matcher m = value == null ? null : FORM.matcher(value.trim());
    if (m == null || !m.matches()) {
      throw new IllegalArgumentException(key + " must be a duration such as 500ms, 5s, 2m, 1h or 1d, was '" + value + "'");
    }
    String unit = m.group(2);
    long most = MAX_MILLIS / millisPer(unit);
    long n;
    try {
      n = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) { // more digits than a long holds
      n = -1;
    }
    if (n < 0 || n > most) {
      throw new IllegalArgumentException(key + " must be at most " + most + unit + " (about 292 million years), was '" + value + "'");
    }
    return Duration.ofMillis(n * millisPer(unit));
  }

  /** The largest duration a setting may hold: what fits a long of milliseconds. */
  private static final long MAX_MILLIS = Long.MAX_VALUE;

  private static long millisPer(String unit) {
    return switch (unit) {
      case "ms" -> 1;
      case "s" -> 1_000;
      case "m" -> 60_000;
      case "h" -> 3_600_000;
      default -> 86_400_000;
    };
  }

  /** Formats a duration in the largest whole unit: {@code 1500ms}, {@code 5s}, {@code 1h}. */
  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms % 86_400_000 == 0 && ms != 0) return ms / 86_400_000 + "d";
    if (ms % 3_600_000 == 0 && ms != 0) return ms / 3_600_000 + "h";
    if (ms % 60_000 == 0 && ms != 0) return ms / 60_000 + "m";
    if (ms % 1000 == 0 && ms != 0) return ms / 1000 + "s";
    return ms + "ms";
  }
}
