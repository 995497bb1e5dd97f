package io.linkbridge.internal.watch;

import io.linkbridge.spi.Clock;
import io.linkbridge.spi.WatchItem;
import io.linkbridge.spi.WatchSink;
import io.linkbridge.spi.Watches;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One client's watch of one service. Items are offered by the apply thread (only queued there) and
 * written to the sink by one drain task at a time on the hub's executor, only while the sink is
 * ready: a watcher that reads nothing holds at most {@code maxQueued} items here (shared with the
 * other watches of the service), of at most {@code maxQueuedBytes} of changes on the wire (a
 * snapshot, sent once at the start or after a restore, is not counted), and one flow-control window
 * in the transport. Past that it is ended with {@link WatchSink.Reason#TOO_FAR_BEHIND}, naming the
 * revision to resume from.
 *
 * <p>Before {@link #start} the watch only collects what the apply thread offers; start drops what
 * the snapshot or replay already covers, so the watcher sees every change once, in order.
 */
final class ServiceWatch implements Watches.Watch {
  final String clientId;
  final String service;
  private final WatchSink sink;
  private final Executor drains;
  private final int maxQueued;
  private final long maxQueuedBytes;
  private final long progressNanos;
  private final Consumer<ServiceWatch> onEnd;
  private final Clock clock;
  private final AtomicBoolean released = new AtomicBoolean();
  private final ArrayDeque<WatchItem> queue = new ArrayDeque<>();
  /** The estimated wire bytes of the queued items but snapshots ({@link WatchItem#estimatedBytes}). */
  private long queuedBytes;
  private boolean started;
  private boolean draining;
  /** The sink was not ready when last asked: nothing is scheduled until it says it is ({@link #ready()}). */
  private boolean blocked;
  /** No item is taken any more; the queue drains, then {@link #pendingEnd} goes out (when set). */
  private boolean closed;
  private boolean ended;
  private WatchSink.Ending pendingEnd;
  /** The highest revision queued (or the starting point): a change at or below it is not queued again. */
  private long baseline;
  private long lastSent;
  private volatile long lastActivityNanos;

  ServiceWatch(String clientId, String service, long fromRevision, WatchSink sink, Executor drains, int maxQueued, long maxQueuedBytes,
      long progressNanos, Clock clock, Consumer<ServiceWatch> onEnd) {
    this.clientId = clientId;
    this.lastSent = fromRevision;
    this.clock = clock;
    this.service = service;
    this.sink = sink;
    this.drains = drains;
    this.maxQueued = maxQueued;
    this.maxQueuedBytes = maxQueuedBytes;
    this.progressNanos = progressNanos;
    this.lastActivityNanos = clock.nanoTime();
    this.onEnd = onEnd;
  }

  /** On the apply thread: queue a change of this service. */
  synchronized void offer(WatchItem item) {
    if (closed || (started && item.revision() <= baseline)) {
      return;
    }
    enqueue(item);
  }

  /** On the apply thread: the state was replaced; the watcher reloads from this snapshot. */
  synchronized void restored(WatchItem snapshot) {
    if (closed) {
      return;
    }
    if (started) {
      enqueue(snapshot);
    } else { // start() may have read the state from before the restore: this snapshot goes out after what it sends
      clearQueue();
      push(snapshot);
    }
  }

  /**
   * Starts the watch: {@code first} (a snapshot, or the replay of a resumed watch) goes out first,
   * then what was offered meanwhile above {@code from}.
   */
  synchronized void start(List<WatchItem> first, long from) {
    if (closed) {
      return; // ended meanwhile (too far behind already, or the broker leaves): its end is on its way
    }
    long startAt = first.isEmpty() ? from : Math.max(from, first.get(first.size() - 1).revision());
    List<WatchItem> offered = new ArrayList<>(queue);
    clearQueue();
    first.forEach(this::push);
    baseline = startAt;
    started = true; // lastSent stays where the watcher started: until its snapshot went out, it resumes with a snapshot
    for (WatchItem i : offered) {
      if (i.revision() > startAt || i.kind() == WatchItem.Kind.SNAPSHOT) {
        push(i);
        baseline = Math.max(baseline, i.revision());
      }
    }
    if (queue.isEmpty()) {
      push(WatchItem.progress(service, startAt)); // a resumed watch learns at once that it is attached
    }
    scheduleDrain();
  }

  private void enqueue(WatchItem item) {
    if (queue.size() >= maxQueued || queuedBytes + bytesOf(item) > maxQueuedBytes) {
      String behind = queue.size() >= maxQueued ? maxQueued + " events" : "more than " + maxQueuedBytes + " bytes of events";
      clearQueue();
      endLocked(new WatchSink.Ending(WatchSink.Reason.TOO_FAR_BEHIND, lastSent, "watch of " + service + " fell " + behind
          + " behind (the client reads too slowly); watch again with from_revision=" + lastSent));
      return;
    }
    push(item);
    baseline = Math.max(baseline, item.revision());
    if (started) {
      scheduleDrain();
    }
  }

  /** On the progress timer: an idle watch gets PROGRESS at the hub's latest revision. */
  synchronized void progressIfIdle(long nowNanos, long latest) {
    if (!started || closed || draining || !queue.isEmpty() || nowNanos - lastActivityNanos < progressNanos) {
      return;
    }
    long at = Math.max(baseline, latest);
    lastActivityNanos = nowNanos;
    enqueue(WatchItem.progress(service, at));
  }

  /** This broker leaves: after what is queued, {@code notice} (if any), then the end. */
  synchronized void leave(WatchItem notice, WatchSink.Ending ending) {
    if (closed) {
      return;
    }
    if (!started) {
      clearQueue(); // changes offered before the snapshot or replay would go out without it: the client resumes elsewhere
    }
    if (notice != null) {
      push(notice);
    }
    endLocked(ending);
  }

  /** Ends at once, dropping what is queued (the grace period is over, or the broker stops now). */
  synchronized void stop(WatchSink.Ending ending) {
    if (ended) {
      return;
    }
    clearQueue();
    closed = false; // a pending end is replaced by this one
    endLocked(ending);
  }

  private void endLocked(WatchSink.Ending ending) {
    if (closed) {
      return;
    }
    closed = true;
    pendingEnd = ending;
    started = true; // a watch ended before it started still sends its end
    scheduleDrain();
  }

  @Override
  public synchronized void ready() {
    blocked = false;
    scheduleDrain();
  }

  private void scheduleDrain() {
    if (draining || ended || !started || (blocked && pendingEnd == null)) {
      return;
    }
    draining = true;
    try {
      drains.execute(this::drain);
    } catch (RejectedExecutionException e) {
      draining = false; // the hub stopped: its stop ended every sink already
    }
  }

  /** One writer: only one drain runs per watch, and only it calls the sink. */
  private void drain() {
    while (true) {
      WatchItem next;
      WatchSink.Ending end = null;
      synchronized (this) {
        if (ended) {
          draining = false;
          return;
        }
        if (queue.isEmpty()) {
          if (pendingEnd == null) {
            draining = false;
            return;
          }
          ended = true;
          draining = false;
          end = pendingEnd;
          next = null;
        } else if (!sink.isReady()) {
          draining = false; // the transport calls ready() when it can take more
          blocked = true;
          return;
        } else {
          next = queue.poll();
          queuedBytes -= bytesOf(next);
          lastSent = Math.max(lastSent, next.revision());
        }
      }
      try {
        if (end != null) {
          release();
          sink.end(end);
          return;
        }
        sink.send(next);
        lastActivityNanos = clock.nanoTime();
      } catch (RuntimeException e) {
        close(); // the stream is gone
        return;
      }
    }
  }

  /** The client went away: nothing more is sent, the hub forgets the watch. */
  @Override
  public void close() {
    synchronized (this) {
      ended = true;
      closed = true;
      clearQueue();
    }
    release();
  }

  private void release() {
    if (released.compareAndSet(false, true)) {
      onEnd.accept(this);
    }
  }

  private void push(WatchItem item) {
    queue.add(item);
    queuedBytes += bytesOf(item);
  }

  private void clearQueue() {
    queue.clear();
    queuedBytes = 0;
  }

  /** What an item counts against {@code maxQueuedBytes}: a snapshot counts nothing (see the class comment). */
  private static long bytesOf(WatchItem item) {
    return item.kind() == WatchItem.Kind.SNAPSHOT ? 0 : item.estimatedBytes();
  }

  synchronized int queued() {
    return queue.size();
  }
}
