package io.linkbridge.grpc.internal;

import io.linkbridge.registry.RegistryEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The last registry events this broker applied, so a watch can resume from a revision. Subscribed to
 * the registry before any watch, so it always holds an event before a watcher sees it. Thread-safe.
 */
final class EventHistory implements Consumer<RegistryEvent> {
  private final int capacity;
  private final ArrayDeque<RegistryEvent> events = new ArrayDeque<>();
  private long latest;

  EventHistory(int capacity, long startRevision) {
    this.capacity = capacity;
    this.latest = startRevision;
  }

  @Override
  public synchronized void accept(RegistryEvent e) {
    if (e.type() == RegistryEvent.Type.STATE_RESTORED) {
      events.clear(); // a restored state has no history here: resumes before it must reload
    } else {
      events.addLast(e);
      if (events.size() > capacity) {
        events.removeFirst();
      }
    }
    latest = e.revision();
  }

  /** The revision of the last event seen. */
  synchronized long latest() {
    return latest;
  }

  /**
   * Every event after {@code revision}, oldest first, or empty when the history no longer reaches
   * back to {@code revision + 1} (the caller answers OUT_OF_RANGE and the client reloads).
   */
  synchronized Result after(long revision) {
    if (revision >= latest) {
      return new Result(List.of(), latest);
    }
    RegistryEvent oldest = events.peekFirst();
    if (oldest == null || oldest.revision() > revision + 1) {
      return new Result(null, latest);
    }
    List<RegistryEvent> out = new ArrayList<>();
    for (RegistryEvent e : events) {
      if (e.revision() > revision) {
        out.add(e);
      }
    }
    return new Result(out, latest);
  }

  /** Events after a revision ({@code null} when out of range) and the latest revision they reach. */
  record Result(List<RegistryEvent> events, long latest) {
  }
}
