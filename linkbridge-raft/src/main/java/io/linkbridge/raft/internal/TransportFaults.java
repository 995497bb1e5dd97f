package io.linkbridge.raft.internal;

import io.atomix.cluster.MemberId;
import io.linkbridge.spi.NetworkFaults;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/** The Raft transport's fault seam (see {@link NetworkFaults}). Thread-safe. */
final class TransportFaults implements NetworkFaults {
  private volatile Set<MemberId> cutOff = Set.of();
  private volatile Duration delay = Duration.ZERO;
  private List<Runnable> held; // guarded by this; null while not holding
  private volatile boolean delaying;
  private volatile boolean holding;

  @Override
  public void cutOff(Set<String> memberIds) {
    cutOff = memberIds.stream().map(MemberId::from).collect(Collectors.toUnmodifiableSet());
  }

  @Override
  public void delay(Duration d) {
    delay = d;
    delaying = !d.isZero();
  }

  @Override
  public synchronized void hold() {
    if (held == null) {
      held = new ArrayList<>();
    }
    holding = true;
  }

  @Override
  public void heal() {
    cutOff = Set.of();
    delay(Duration.ZERO);
    List<Runnable> release;
    synchronized (this) {
      release = held;
      held = null;
      holding = false;
    }
    if (release != null) {
      release.forEach(Runnable::run);
    }
  }

  boolean isCutOff(MemberId member) {
    return cutOff.contains(member);
  }

  /** Whether messages are delayed or held now: without, the transport takes its direct path. */
  boolean delaysOrHolds() {
    return delaying || holding;
  }

  /** Runs {@code delivery} now, or (in order) once a hold ends. */
  void deliver(Runnable delivery) {
    if (!holding) {
      delivery.run();
      return;
    }
    synchronized (this) {
      if (held != null) {
        held.add(delivery);
        return;
      }
    }
    delivery.run();
  }

  /** Completes after the configured delay (at once without one). */
  CompletableFuture<Void> afterDelay() {
    Duration d = delay;
    return d.isZero() ? CompletableFuture.completedFuture(null)
        : CompletableFuture.runAsync(() -> {}, CompletableFuture.delayedExecutor(d.toNanos(), TimeUnit.NANOSECONDS));
  }
}
