package io.linkbridge;

import java.time.Duration;
import java.util.Objects;

/**
 * How a client moves along its broker list when a broker fails. Immutable.
 *
 * <p>The first retry after a failure goes at once to the next broker of the list; every later one
 * waits first: {@code retryInterval}, then twice as long each time up to {@code maxRetryInterval},
 * each wait shortened by a random 0..20% so that many clients that lost the same broker do not
 * return to it in lock-step. After a success the waits start over at {@code retryInterval}.
 *
 * @param retryInterval the first wait between attempts (at least 10ms)
 * @param maxRetryInterval the longest wait between attempts (at least {@code retryInterval}); a broker
 *     that comes back is tried again at most this long later
 * @param maxRetries how many further attempts one call or one watch reconnect makes, 0..1000
 * @param enableAutoFailover move to the next broker of the list on failure (false: retry the same one)
 * @param continuousRetry never give up: after {@code maxRetries}, keep cycling the list
 */
public record FailoverConfig(Duration retryInterval, int maxRetries, boolean enableAutoFailover, boolean continuousRetry,
    Duration maxRetryInterval) {
  /** The longest wait between attempts unless set: {@value #DEFAULT_MAX_RETRY_SECONDS} seconds (or {@code retryInterval} if longer). */
  public static final int DEFAULT_MAX_RETRY_SECONDS = 5;

  /** One second for the first wait, at most five, three retries, auto failover, no continuous retry. */
  public static final FailoverConfig DEFAULT = new FailoverConfig(Duration.ofSeconds(1), 3, true, false);

  public FailoverConfig {
    Objects.requireNonNull(retryInterval, "retryInterval");
    Objects.requireNonNull(maxRetryInterval, "maxRetryInterval");
    if (retryInterval.compareTo(Duration.ofMillis(10)) < 0) {
      throw new IllegalArgumentException("retryInterval must be at least 10ms, was " + Durations.format(retryInterval));
    }
    if (maxRetryInterval.compareTo(retryInterval) < 0) {
      throw new IllegalArgumentException("maxRetryInterval must be at least retryInterval (" + Durations.format(retryInterval) + "), was "
          + Durations.format(maxRetryInterval));
    }
    if (maxRetries < 0 || maxRetries > 1000) {
      throw new IllegalArgumentException("maxRetries must be in 0..1000, was " + maxRetries);
    }
  }

  /** A config whose {@code maxRetryInterval} is the default (five seconds, or {@code retryInterval} if longer). */
  public FailoverConfig(Duration retryInterval, int maxRetries, boolean enableAutoFailover, boolean continuousRetry) {
    this(retryInterval, maxRetries, enableAutoFailover, continuousRetry, defaultMax(retryInterval));
  }

  private static Duration defaultMax(Duration retryInterval) {
    Duration max = Duration.ofSeconds(DEFAULT_MAX_RETRY_SECONDS);
    return retryInterval == null || retryInterval.compareTo(max) < 0 ? max : retryInterval;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds {@link FailoverConfig}; starts from {@link #DEFAULT}. Not thread-safe; reusable. */
  public static final class Builder {
    private Duration retryInterval = DEFAULT.retryInterval();
    private Duration maxRetryInterval;
    private int maxRetries = DEFAULT.maxRetries();
    private boolean enableAutoFailover = DEFAULT.enableAutoFailover();
    private boolean continuousRetry = DEFAULT.continuousRetry();

    private Builder() {}

    public Builder retryInterval(Duration retryInterval) {
      this.retryInterval = Objects.requireNonNull(retryInterval, "retryInterval");
      return this;
    }

    /** The longest wait between attempts; at least 10ms, and at least {@code retryInterval} (checked by {@link #build()}). */
    public Builder maxRetryInterval(Duration maxRetryInterval) {
      Objects.requireNonNull(maxRetryInterval, "maxRetryInterval");
      if (maxRetryInterval.compareTo(Duration.ofMillis(10)) < 0) {
        throw new IllegalArgumentException("maxRetryInterval must be at least 10ms, was " + Durations.format(maxRetryInterval));
      }
      this.maxRetryInterval = maxRetryInterval;
      return this;
    }

    public Builder maxRetries(int maxRetries) {
      this.maxRetries = maxRetries;
      return this;
    }

    public Builder enableAutoFailover(boolean enable) {
      this.enableAutoFailover = enable;
      return this;
    }

    public Builder continuousRetry(boolean continuous) {
      this.continuousRetry = continuous;
      return this;
    }

    /** Checks every value: throws {@link IllegalArgumentException} naming the bad one. */
    public FailoverConfig build() {
      return new FailoverConfig(retryInterval, maxRetries, enableAutoFailover, continuousRetry,
          maxRetryInterval == null ? defaultMax(retryInterval) : maxRetryInterval);
    }

    @Override
    public String toString() {
      return "FailoverConfig.Builder{retryInterval=" + Durations.format(retryInterval) + ", maxRetryInterval="
          + (maxRetryInterval == null ? "default" : Durations.format(maxRetryInterval)) + ", maxRetries=" + maxRetries
          + ", enableAutoFailover=" + enableAutoFailover + ", continuousRetry=" + continuousRetry + "}";
    }
  }
}
