package io.linkbridge.internal.liveness;

import io.linkbridge.spi.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Measures this process's own stalls: a thread ({@code linkbridge-stall-detector-<broker>}) ticks
 * every {@link #TICK}; a gap between two ticks longer than {@code threshold} means every thread of
 * the process stood still (a GC pause, SIGSTOP, a host too loaded to schedule it). Liveness windows
 * restart at the end of a stall, so what this broker did not see while it stood still is never
 * counted as someone else's silence.
 *
 * <p>A reader also checks the ticker itself: when the last tick is older than the threshold, the
 * process has just resumed and the ticker has not run yet, so the reader records the stall at once
 * instead of acting on the old readings. A stall shorter than the threshold is counted as silence;
 * the threshold is therefore the largest error of a liveness judgement. Thread-safe.
 */
public final class StallDetector {
  private static final Logger log = LoggerFactory.getLogger(StallDetector.class);
  static final Duration TICK = Duration.ofMillis(10);

  private final String brokerId;
  private final Clock clock;
  private final long thresholdNanos;
  private volatile long lastTick;
  private volatile long lastStallEnd = Long.MIN_VALUE;
  private volatile Thread ticker;

  public StallDetector(String brokerId, Clock clock, Duration threshold) {
    this.brokerId = brokerId;
    this.clock = clock;
    this.thresholdNanos = threshold.toNanos();
    this.lastTick = clock.nanoTime();
  }

  /** The stall threshold for an agent timeout: a quarter of it, within 20 ms..1 s. */
  public static Duration thresholdFor(Duration agentTimeout) {
    Duration quarter = agentTimeout.dividedBy(4);
    return quarter.compareTo(Duration.ofMillis(20)) < 0 ? Duration.ofMillis(20)
        : quarter.compareTo(Duration.ofSeconds(1)) > 0 ? Duration.ofSeconds(1) : quarter;
  }

  /** Starts the ticker thread. */
  public StallDetector start() {
    Thread t = new Thread(this::run, "linkbridge-stall-detector-" + brokerId);
    t.setDaemon(true);
    ticker = t;
    lastTick = clock.nanoTime();
    t.start();
    return this;
  }

  /** Stops the ticker thread; returns at once. */
  public void stop() {
    Thread t = ticker;
    ticker = null;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }

  private void run() {
    while (ticker == Thread.currentThread()) {
      LockSupport.parkNanos(TICK.toNanos());
      tick();
    }
  }

  /** One tick of the ticker: records a stall when the previous tick is too long ago. */
  void tick() {
    long now = clock.nanoTime();
    if (checkStall(now)) {
      log.debug("Broker {} ticker resumed", brokerId);
    }
    lastTick = now;
  }

  /** Records a stall if the ticker has not run for longer than the threshold; returns whether it did. */
  private boolean checkStall(long now) {
    long gap = now - lastTick;
    if (gap <= thresholdNanos) {
      return false;
    }
    if (now > lastStallEnd) {
      boolean first = lastStallEnd < lastTick; // not recorded yet by a reader
      lastStallEnd = now;
      if (first) {
        log.warn("Broker {} stood still for {} ms (GC pause, SIGSTOP or an overloaded host): agent and broker liveness windows restart",
            brokerId, TimeUnit.NANOSECONDS.toMillis(gap));
      }
    }
    return true;
  }

  /** The end of the last stall seen ({@link Long#MIN_VALUE} if none), checking for one that just ended. */
  public long lastStallEnd() {
    checkStall(clock.nanoTime());
    return lastStallEnd;
  }

  /** The clock's reading now. */
  public long nanoTime() {
    return clock.nanoTime();
  }

  /**
   * How long something last heard from at {@code lastHeardNanos} has been silent while this process
   * was running: {@code now - max(lastHeardNanos, end of the last stall)}.
   */
  public long silentNanos(long lastHeardNanos) {
    long now = clock.nanoTime(); // first: a stall after this reading is seen by the check below
    long stallEnd = lastStallEnd();
    return now - Math.max(lastHeardNanos, Math.min(stallEnd, now));
  }
}
