package io.linkbridge.raft.internal;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Runs a log statement at most once per interval per key, so a misconfigured peer cannot flood the log. Thread-safe. */
final class RateLimitedLog {
  private final long intervalNanos;
  private final Map<String, Long> lastLogged = new ConcurrentHashMap<>();

  RateLimitedLog(long interval, TimeUnit unit) {
    this.intervalNanos = unit.toNanos(interval);
  }

  void warn(String key, Runnable logStatement) {
    long now = System.nanoTime();
    Long last = lastLogged.get(key);
    if ((last == null || now - last >= intervalNanos) && (last == null ? lastLogged.putIfAbsent(key, now) == null : lastLogged.replace(key, last, now))) {
      if (lastLogged.size() > 1_000) {
        lastLogged.clear(); // keys are per peer and reason; never let an attacker's variety grow this
      }
      logStatement.run();
    }
  }
}
