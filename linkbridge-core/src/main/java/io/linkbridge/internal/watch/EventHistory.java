package io.linkbridge.internal.watch;

import io.linkbridge.spi.WatchItem;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The last instance changes this broker applied, as the watch items the hub sent, so a watch can
 * resume from a revision. Only instance changes are kept (agent events reach no watcher), so the
 * revisions have gaps; {@link #floor} is the revision from which the history is complete.
 * Thread-safe.
 */
final class EventHistory {
  private final int capacity;
  private final ArrayDeque<WatchItem> items = new ArrayDeque<>();
  /** Every change after this revision is held (the history is complete above it). */
  private long floor;

  EventHistory(int capacity, long startRevision) {
    this.capacity = capacity;
    this.floor = startRevision;
  }

  synchronized void add(WatchItem item) {
    items.addLast(item);
    if (items.size() > capacity) {
      floor = items.removeFirst().revision();
    }
  }

  /** A restored state has no history here: resumes from before it must reload. */
  synchronized void restored(long revision) {
    items.clear();
    floor = revision;
  }

  /**
   * The changes of {@code service} after {@code revision}, oldest first, or null when the history
   * no longer reaches back to it (the watch must start over from a snapshot).
   */
  List<WatchItem> after(String service, long revision) {
    WatchItem[] held;
    synchronized (this) { // a copy of references: the apply thread's add() waits for no scan
      if (revision < floor) {
        return null;
      }
      held = items.toArray(WatchItem[]::new);
    }
    List<WatchItem> out = new ArrayList<>();
    for (int i = held.length - 1; i >= 0 && held[i].revision() > revision; i--) {
      if (held[i].service().equals(service)) {
        out.add(held[i]);
      }
    }
    Collections.reverse(out);
    return out;
  }
}
