package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.linkbridge.Registry;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * One client's watch of one service. Registry events arrive on the apply thread and are only queued
 * there; a drain task on {@code executor} writes them to the stream in revision order. A client that
 * falls {@link #MAX_QUEUED} events behind is cut off with RESOURCE_EXHAUSTED naming the revision to
 * resume from, so one slow client never holds memory or the apply thread of the broker.
 */
final class WatchStream implements Consumer<RegistryEvent> {
  static final int MAX_QUEUED = 10_000;

  private final String service;
  private final Registry registry;
  private final WatchEvents events;
  private final ServerCallStreamObserver<WatchEvent> out;
  private final Executor executor;
  private final ArrayDeque<WatchEvent> queue = new ArrayDeque<>();
  private long baseline;         // events at or below it were sent or are in the queue
  private boolean draining;
  private boolean closed;
  private long lastQueued;

  WatchStream(String service, Registry registry, WatchEvents events, ServerCallStreamObserver<WatchEvent> out, Executor executor) {
    this.service = service;
    this.registry = registry;
    this.events = events;
    this.out = out;
    this.executor = executor;
  }

  /** Queues the current instances at revision R; later events above R follow. Call once, subscribed. */
  synchronized void startWithSnapshot() {
    ClusterState state = registry.state();
    baseline = state.revision();
    enqueue(WatchEvents.snapshot(state, service));
  }

  /** Queues events from history; later events above {@code upTo} follow. */
  synchronized void startAfter(List<RegistryEvent> history, long upTo) {
    for (RegistryEvent e : history) {
      convert(e);
    }
    baseline = Math.max(baseline, upTo);
  }


  @Override
  public synchronized void accept(RegistryEvent e) {
    if (closed || e.revision() <= baseline) {
      return;
    }
    baseline = e.revision();
    convert(e);
  }

  private void convert(RegistryEvent e) {
    WatchEvent converted = events.of(e, service);
    if (converted != null) {
      enqueue(converted);
    }
  }

  private void enqueue(WatchEvent e) {
    if (closed) {
      return;
    }
    if (queue.size() >= MAX_QUEUED) {
      closed = true;
      queue.clear();
      long resumeFrom = lastQueued;
      executor.execute(() -> out.onError(Status.RESOURCE_EXHAUSTED.withDescription(
          "watch of " + service + " fell " + MAX_QUEUED + " events behind; resume with from_revision=" + resumeFrom).asRuntimeException()));
      return;
    }
    queue.add(e);
    lastQueued = e.getRevision();
    if (!draining) {
      draining = true;
      executor.execute(this::drain);
    }
  }

  private void drain() {
    while (true) {
      WatchEvent next;
      synchronized (this) {
        next = queue.poll();
        if (next == null || closed) {
          draining = false;
          return;
        }
      }
      if (out.isCancelled()) {
        close();
        return;
      }
      try {
        out.onNext(next);
      } catch (RuntimeException e) {
        close();
        return;
      }
    }
  }

  synchronized void close() {
    closed = true;
    queue.clear();
  }
}
