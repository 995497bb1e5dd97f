package io.linkbridge.internal;

import io.linkbridge.spi.Readiness;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** Starting (catching up), then serving; failed and leaving are final. Thread-safe. */
final class BrokerReadiness implements Readiness {
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private volatile String notServing;
  private volatile boolean failed;
  private volatile boolean left;

  BrokerReadiness(String brokerId) {
    notServing = "broker " + brokerId + " is starting: it has not caught up with the cluster yet; ask another broker";
  }

  @Override
  public Optional<String> notServing() {
    return Optional.ofNullable(notServing);
  }

  /** Why this broker stopped for good, if it did. */
  Optional<String> failure() {
    return failed ? Optional.ofNullable(notServing) : Optional.empty();
  }

  @Override
  public boolean leaving() {
    return left;
  }

  @Override
  public void addListener(Runnable listener) {
    listeners.add(listener);
  }

  void serving() {
    change(null, false, false);
  }

  /** Stops serving for good. */
  void failed(String reason) {
    change(reason, true, false);
  }

  /** Stops serving for good: the broker is shutting down (no failure). */
  void leaving(String reason) {
    change(reason, false, true);
  }

  /** Listeners run under the lock, so they see the changes in the order they were made. */
  private synchronized void change(String reason, boolean fail, boolean leave) {
    if (failed || left) {
      return;
    }
    failed = fail;
    left = leave;
    notServing = reason;
    listeners.forEach(Runnable::run);
  }
}
