package io.linkbridge.raft.internal;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The Raft term of the entry being applied. Atomix does not hand a primitive service the term of a
 * commit, and the state machine needs it to refuse a leader's decision that reached the log in a
 * later term. The reader Atomix applies entries from records each entry's term here as it reads it
 * (on the Raft thread, see {@link TruncationGuard}), before it hands the entry to the state-machine
 * thread, which takes it from here: no second reader of the log, none on another thread. Thread-safe.
 */
final class EntryTerms {
  /** Entries read but not asked for (sessions' keep-alives, say) are dropped beyond this many. */
  private static final int MAX_KEPT = 10_000;
  private final ConcurrentSkipListMap<Long, Long> terms = new ConcurrentSkipListMap<>();

  /** Raft thread: the entry at {@code index}, of {@code term}, is about to be applied. */
  void read(long index, long term) {
    terms.put(index, term);
    if (terms.size() > MAX_KEPT) {
      terms.headMap(index - MAX_KEPT).clear();
    }
  }

  /**
   * State-machine thread: the term of the entry at {@code index}, which is being applied; forgets it
   * and every entry before it. Throws if it was never read (then no replica could apply it alike).
   */
  long termOf(long index) {
    Long term = terms.get(index);
    Map<Long, Long> done = terms.headMap(index, true);
    done.clear();
    if (term == null) {
      throw new IllegalStateException("the term of Raft log entry " + index + " was not read with it");
    }
    return term;
  }
}
