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
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
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
