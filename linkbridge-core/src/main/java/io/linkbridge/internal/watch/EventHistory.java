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
  synchronized List<WatchItem> after(String service, long revision) {
    if (revision < floor) {
      return null;
    }
    List<WatchItem> out = new ArrayList<>();
    var it = items.descendingIterator();
    while (it.hasNext()) {
      WatchItem i = it.next();
      if (i.revision() <= revision) {
        break;
      }
      if (i.service().equals(service)) {
        out.add(i);
      }
    }
    Collections.reverse(out);
    return out;
  }
}
