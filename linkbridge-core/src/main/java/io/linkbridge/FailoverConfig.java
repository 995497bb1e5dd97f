package io.linkbridge;

import java.time.Duration;
import java.util.Objects;

/**
 * How a client moves along its broker list when a broker fails. Immutable.
 *
 * @param retryInterval the wait before the next attempt after a failed one (at least 10ms)
 * @param maxRetries how many further attempts one call or one watch reconnect makes, 0..1000
 * @param enableAutoFailover move to the next broker of the list on failure (false: retry the same one)
 * @param continuousRetry never give up: after {@code maxRetries}, keep cycling the list every {@code retryInterval}
 */
public record FailoverConfig(Duration retryInterval, int maxRetries, boolean enableAutoFailover, boolean continuousRetry) {
  /** One second between attempts, three retries, auto failover, no continuous retry. */
  public static final FailoverConfig DEFAULT = new FailoverConfig(Duration.ofSeconds(1), 3, true, false);

  public FailoverConfig {
    Objects.requireNonNull(retryInterval, "retryInterval");
    if (retryInterval.compareTo(Duration.ofMillis(10)) < 0) {
      throw new IllegalArgumentException("retryInterval must be at least 10ms, was " + Durations.format(retryInterval));
    }
    if (maxRetries < 0 || maxRetries > 1000) {
      throw new IllegalArgumentException("maxRetries must be in 0..1000, was " + maxRetries);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds {@link FailoverConfig}; starts from {@link #DEFAULT}. Not thread-safe. */
  public static final class Builder {
    private Duration retryInterval = DEFAULT.retryInterval();
    private int maxRetries = DEFAULT.maxRetries();
    private boolean enableAutoFailover = DEFAULT.enableAutoFailover();
    private boolean continuousRetry = DEFAULT.continuousRetry();

    private Builder() {}

    public Builder retryInterval(Duration retryInterval) {
      this.retryInterval = Objects.requireNonNull(retryInterval, "retryInterval");
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
      return new FailoverConfig(retryInterval, maxRetries, enableAutoFailover, continuousRetry);
    }
  }
}
