package io.linkbridge.raft.internal;

import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;

/**
 * The log index of the last entry the state machine applied on this member, and the proposals
 * waiting to see their entry applied here. Set by the apply thread; awaited from any thread.
 */
final class AppliedIndex {
  private volatile long value;
  private final PriorityQueue<Waiter> waiters = new PriorityQueue<>((a, b) -> Long.compare(a.index, b.index));
  private Throwable failure;

  private record Waiter(long index, CompletableFuture<Void> future) {}

  long get() {
    return value;
  }

  void set(long index) {
    value = index;
    while (true) {
      Waiter w;
      synchronized (this) {
        w = waiters.peek();
        if (w == null || w.index() > index) {
          return;
        }
        waiters.poll();
      }
      w.future().complete(null);
    }
  }

  /** Completes once {@code index} is applied here, on the apply thread: callers hop off it. */
  CompletableFuture<Void> await(long index) {
    if (value >= index) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (this) {
      if (failure != null) {
        return CompletableFuture.failedFuture(failure);
      }
      waiters.add(new Waiter(index, f));
    }
    if (value >= index) {
      set(value);
    }
    return f;
  }

  synchronized void failAll(Throwable cause) {
    failure = cause;
    waiters.forEach(w -> w.future().completeExceptionally(cause));
    waiters.clear();
  }
}
