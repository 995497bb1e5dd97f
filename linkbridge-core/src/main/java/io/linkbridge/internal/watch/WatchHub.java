package io.linkbridge.internal.watch;

import io.linkbridge.HostAndPort;
import io.linkbridge.Registry;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import io.linkbridge.spi.Clock;
import io.linkbridge.spi.Readiness;
import io.linkbridge.spi.WatchItem;
import io.linkbridge.spi.WatchSink;
import io.linkbridge.spi.Watches;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's watches, looked up by service like etcd's watchers by key: an applied change costs
 * one item and the watches of its service, never every watch of the broker. On the apply thread the
 * hub only records the change in its history and queues it on those watches; drains run on
 * {@code linkbridge-watch-<broker>}, PROGRESS on {@code linkbridge-watch-progress-<broker>}.
 * Thread-safe.
 */
public final class WatchHub implements Watches, Consumer<RegistryEvent> {
  private static final Logger log = LoggerFactory.getLogger(WatchHub.class);
  /** Instance changes kept for watches that resume from a revision. */
  public static final int HISTORY_EVENTS = 10_000;
  /** The most items one watch may have queued (a watcher that reads nothing): beyond, it is ended. */
  public static final int MAX_QUEUED = 10_000;
  /** The most bytes of changes (as estimated, {@link io.linkbridge.spi.WatchItem#estimatedBytes}) one watch may have queued. */
  public static final long MAX_QUEUED_BYTES = 16L * 1024 * 1024;
  /**
   * Idle watches are looked at for PROGRESS every quarter of the shortest progress interval any watch
   * asked for, within these bounds: a PROGRESS is at most a quarter interval late, and 10,000 watches
   * cost a few thousand looks a second, not one per watch every few milliseconds.
   */
  private static final long MIN_PROGRESS_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(25);
  private static final long MAX_PROGRESS_TICK_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final String brokerId;
  private final Registry registry;
  private final Readiness readiness;
  private final LongSupplier commitIndex;
  private final int maxWatchesPerClient;
  private final int maxQueued;
  private final Clock clock;
  private final EventHistory history;
  private final Map<String, Set<ServiceWatch>> byService = new ConcurrentHashMap<>();
  private final Set<ServiceWatch> all = ConcurrentHashMap.newKeySet();
  private final Map<String, Integer> perClient = new ConcurrentHashMap<>();
  private final ExecutorService drains;
  private final ScheduledExecutorService progress;
  private volatile long latest;
  private volatile long shortestProgressNanos = TimeUnit.SECONDS.toNanos(1);
  private volatile String leaving;

  public WatchHub(String brokerId, Registry registry, Readiness readiness, LongSupplier commitIndex, int maxWatchesPerClient, int maxQueued,
      int historyEvents, Clock clock) {
    this.brokerId = brokerId;
    this.registry = registry;
    this.readiness = readiness;
    this.commitIndex = commitIndex;
    this.maxWatchesPerClient = maxWatchesPerClient;
    this.maxQueued = maxQueued;
    this.clock = clock;
    this.latest = registry.revision();
    this.history = new EventHistory(historyEvents, latest);
    this.drains = Executors.newFixedThreadPool(2, daemon("linkbridge-watch-" + brokerId));
    this.progress = Executors.newSingleThreadScheduledExecutor(daemon("linkbridge-watch-progress-" + brokerId));
    scheduleProgress();
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /** On the apply thread, for every applied change: history, then the watches of its service. */
  @Override
  public void accept(RegistryEvent e) {
    if (e.type() == RegistryEvent.Type.STATE_RESTORED) {
      history.restored(e.revision());
      ClusterState state = registry.state();
      Map<String, WatchItem> snapshots = new HashMap<>();
      for (ServiceWatch w : all) {
        w.restored(snapshots.computeIfAbsent(w.service, s -> WatchItem.snapshot(s, state)));
      }
    } else if (e.instance() != null) {
      String service = e.instance().service();
      WatchItem item = WatchItem.change(service, e, registry.state());
      history.add(item);
      Set<ServiceWatch> watches = byService.get(service);
      if (watches != null) {
        for (ServiceWatch w : watches) {
          w.offer(item);
        }
      }
    }
    latest = e.revision();
  }

  @Override
  public Optional<String> notServing() {
    String why = leaving;
    return why != null ? Optional.of(why) : readiness.notServing();
  }

  @Override
  public Watch open(String clientId, String service, long fromRevision, Duration progressInterval, WatchSink sink) throws Refused {
    Optional<String> why = notServing();
    if (why.isPresent()) {
      throw new Refused(Refused.Reason.NOT_SERVING, why.get());
    }
    if (!countWatch(clientId)) {
      throw new Refused(Refused.Reason.TOO_MANY_WATCHES, "this client holds " + maxWatchesPerClient + " watches on broker " + brokerId
          + " (maxWatchesPerClient); close one, or watch from another client or broker");
    }
    ServiceWatch watch = new ServiceWatch(clientId, service, fromRevision, sink, drains, maxQueued, MAX_QUEUED_BYTES, progressInterval.toNanos(), clock,
        this::forget);
    if (progressInterval.toNanos() < shortestProgressNanos) {
      shortestProgressNanos = progressInterval.toNanos(); // a race may lose a smaller value for one tick; the next open corrects it
    }
    // Registered before the starting point is read: a change applied meanwhile is either in the
    // snapshot (or replay) or offered to the watch, and start() keeps only what is newer.
    byService.compute(service, (s, set) -> { // atomic with forget's removal of an emptied set
      Set<ServiceWatch> watches = set == null ? ConcurrentHashMap.newKeySet() : set;
      watches.add(watch);
      return watches;
    });
    all.add(watch);
    try {
      why = notServing(); // leave() may have looked at every watch just before this one was added
      if (why.isPresent()) {
        throw new Refused(Refused.Reason.NOT_SERVING, why.get());
      }
      if (fromRevision == 0) {
        ClusterState state = registry.state();
        watch.start(List.of(WatchItem.snapshot(service, state)), state.revision());
        return watch;
      }
      List<WatchItem> replay = history.after(service, fromRevision);
      if (replay == null) {
        throw new Refused(Refused.Reason.TOO_OLD, "revision " + fromRevision + " is older than broker " + brokerId
            + "'s event history; watch again with from_revision=0 for a fresh snapshot");
      }
      long applied = latest;
      if (fromRevision > applied && fromRevision > commitIndex.getAsLong()) {
        throw new Refused(Refused.Reason.IN_THE_FUTURE, "revision " + fromRevision + " is newer than anything this cluster committed (broker "
            + brokerId + " is at revision " + applied + "; was the cluster rebuilt?); watch again with from_revision=0 for a fresh snapshot");
      }
      watch.start(replay, fromRevision); // a broker still catching up to fromRevision sends what follows it, when it has it
      return watch;
    } catch (Refused | RuntimeException e) {
      watch.close();
      throw e;
    }
  }

  /** Once per watch, when it ended or its client went away. */
  private void forget(ServiceWatch watch) {
    all.remove(watch);
    byService.computeIfPresent(watch.service, (s, set) -> {
      set.remove(watch);
      return set.isEmpty() ? null : set;
    });
    perClient.computeIfPresent(watch.clientId, (c, n) -> n <= 1 ? null : n - 1);
  }

  /** Counts one more watch of the client, unless it holds the most allowed; atomic per client. */
  private boolean countWatch(String clientId) {
    boolean[] counted = {false};
    perClient.compute(clientId, (c, n) -> {
      int now = n == null ? 0 : n;
      if (now >= maxWatchesPerClient) {
        return n;
      }
      counted[0] = true;
      return now + 1;
    });
    return counted[0];
  }

  private void scheduleProgress() {
    long tick = Math.max(MIN_PROGRESS_TICK_NANOS, Math.min(MAX_PROGRESS_TICK_NANOS, shortestProgressNanos / 4));
    try {
      progress.schedule(this::sendProgress, tick, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // stopped
    }
  }

  private void sendProgress() {
    try {
      long now = clock.nanoTime();
      long at = latest;
      for (ServiceWatch w : all) {
        w.progressIfIdle(now, at);
      }
    } catch (RuntimeException e) {
      log.error("Broker {}: sending watch progress failed; trying again at the next tick", brokerId, e);
    } finally {
      scheduleProgress();
    }
  }

  /**
   * This broker leaves: no new watch from now; every watch sends what it has queued, then (when
   * {@code notify}) BROKER_LEAVING naming {@code brokers}, then ends.
   */
  public void leave(String reason, List<HostAndPort> brokers, boolean notify) {
    leaving = reason;
    WatchSink.Ending ending = new WatchSink.Ending(WatchSink.Reason.BROKER_LEAVING, 0, reason);
    Map<String, WatchItem> notices = new HashMap<>();
    long at = latest;
    for (ServiceWatch w : new ArrayList<>(all)) {
      w.leave(notify ? notices.computeIfAbsent(w.service, s -> WatchItem.brokerLeaving(s, at, brokers)) : null, ending);
    }
  }

  /** The watches of {@code service} that changes reach now. */
  int watching(String service) {
    Set<ServiceWatch> set = byService.get(service);
    return set == null ? 0 : set.size();
  }

  /** The watches still open (those that have not ended or gone). */
  public int openWatches() {
    return all.size();
  }

  /** Ends every watch at once and stops the hub's threads. */
  public void stop(String reason) {
    leaving = reason;
    progress.shutdownNow();
    WatchSink.Ending ending = new WatchSink.Ending(WatchSink.Reason.BROKER_STOPPED, 0, reason);
    for (ServiceWatch w : new ArrayList<>(all)) {
      w.stop(ending);
    }
    drains.shutdown(); // the ends just queued still go out
  }

  /** Waits for the hub's threads after {@link #stop}. */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    return progress.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS)
        && drains.awaitTermination(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
  }
}
