package io.linkbridge.raft.internal;

import io.atomix.protocols.raft.impl.RaftContext;
import io.atomix.protocols.raft.storage.log.RaftLogReader;
import io.atomix.protocols.raft.storage.log.entry.RaftLogEntry;
import io.atomix.storage.journal.Indexed;
import io.atomix.storage.journal.JournalReader;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Raft term of the entry being applied, read from the log. Atomix does not hand a primitive
 * service the term of a commit, and the state machine needs it to refuse a leader's decision that
 * reached the log in a later term. The entry was just read from the log to be applied, so it is there
 * (and cached by the OS). Used only on the state-machine thread.
 */
final class EntryTerms {
  private static final Logger log = LoggerFactory.getLogger(EntryTerms.class);
  private final Supplier<RaftContext> context;
  private final LongSupplier truncations;
  private RaftLogReader reader;
  private long seenTruncations;

  /** {@code truncations} changes whenever the log's tail was cut ({@link TruncationGuard#generation()}). */
  EntryTerms(Supplier<RaftContext> context, LongSupplier truncations) {
    this.context = context;
    this.truncations = truncations;
  }

  /** How often, and how far apart, a fresh reader looks again for an entry the kept reader did not find. */
  private static final int FRESH_LOOKS = 20;
  private static final long FRESH_LOOK_MILLIS = 50;

  /**
   * The term of the log entry at {@code index}; throws if the log does not hold it (then no replica
   * could apply it). After the log's tail was cut and written again, the reader reads from the file
   * again: what it had read ahead may be the replaced entries. If it still misses the entry, a fresh
   * reader looks again, for up to a second, before the member gives up.
   */
  long termOf(long index) {
    if (reader == null) {
      reader = context.get().getLog().openReader(index, JournalReader.Mode.ALL);
      seenTruncations = truncations.getAsLong();
    }
    long now = truncations.getAsLong();
    if (now != seenTruncations) {
      seenTruncations = now;
      reader.close(); // what it read ahead may be the replaced entries: a fresh reader reads the file as it is now
      reader = context.get().getLog().openReader(index, JournalReader.Mode.ALL);
    }
    Long term = read(index);
    for (int look = 0; term == null && look < FRESH_LOOKS; look++) {
      reader.close();
      reader = context.get().getLog().openReader(index, JournalReader.Mode.ALL);
      term = read(index);
      if (term == null) {
        try {
          Thread.sleep(FRESH_LOOK_MILLIS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      } else {
        log.warn("Raft log reader of the state machine missed entry {}; a fresh reader found it", index);
      }
    }
    if (term == null) {
      throw new IllegalStateException("the Raft log holds no entry " + index + " to apply (first index " + reader.getFirstIndex() + ")");
    }
    return term;
  }

  private Long read(long index) {
    if (reader.getNextIndex() != index) {
      reader.reset(index); // a reset re-reads from the segment's nearest index point: only when not reading in order
    }
    if (reader.hasNext()) {
      Indexed<RaftLogEntry> entry = reader.next();
      if (entry.index() == index) {
        return entry.entry().term();
      }
    }
    return null;
  }
}
