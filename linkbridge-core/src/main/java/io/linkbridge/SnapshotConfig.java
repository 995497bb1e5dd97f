package io.linkbridge;

import java.time.Duration;
import java.util.Objects;

/**
 * How often a broker snapshots the registry, how many snapshot files it keeps in
 * {@code dataDir/snapshots}, and whether they are gzip-compressed. Taking a snapshot also compacts the
 * Raft log up to it, so disk use stays bounded. Immutable.
 *
 * @param interval time between snapshots (at least 1s)
 * @param retention how many snapshot files to keep (at least 1)
 * @param compress gzip the snapshot files
 */
public record SnapshotConfig(Duration interval, int retention, boolean compress) {
  /** One snapshot an hour, the last 3 kept, compressed. */
  public static final SnapshotConfig DEFAULT = new SnapshotConfig(Duration.ofHours(1), 3, true);

  public SnapshotConfig {
    Objects.requireNonNull(interval, "interval");
    if (interval.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("snapshot interval must be at least 1s, was " + Durations.format(interval));
    }
    if (retention < 1) {
      throw new IllegalArgumentException("snapshot retention must be at least 1, was " + retention);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds {@link SnapshotConfig}; starts from {@link #DEFAULT}. Not thread-safe. */
  public static final class Builder {
    private Duration interval = DEFAULT.interval();
    private int retention = DEFAULT.retention();
    private boolean compress = DEFAULT.compress();

    private Builder() {}

    public Builder interval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (interval.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException("snapshot interval must be at least 1s, was " + Durations.format(interval));
      }
      this.interval = interval;
      return this;
    }

    public Builder retention(int retention) {
      if (retention < 1) {
        throw new IllegalArgumentException("snapshot retention must be at least 1, was " + retention);
      }
      this.retention = retention;
      return this;
    }

    public Builder compress(boolean compress) {
      this.compress = compress;
      return this;
    }

    public SnapshotConfig build() {
      return new SnapshotConfig(interval, retention, compress);
    }
  }
}
