package io.linkbridge.raft.internal;

import io.atomix.protocols.raft.impl.RaftContext;
import io.atomix.protocols.raft.impl.RaftServiceManager;
import io.atomix.protocols.raft.storage.log.RaftLogReader;
import io.atomix.protocols.raft.storage.log.RaftLogWriter;
import io.atomix.storage.journal.DelegatingJournalWriter;
import io.atomix.storage.journal.SegmentedJournalWriter;
import java.lang.reflect.Field;

/**
 * Works around a defect of Atomix 3.1.12's log readers on {@code StorageLevel.DISK}: a segment
 * reader reads ahead up to twice the largest entry size into a buffer of its own, and when the log's
 * tail is truncated and written again (a follower whose uncommitted entries the leader replaces),
 * Atomix resets only the readers positioned past the cut. A reader behind the cut later reads the
 * replaced entries from its stale buffer: the entries of a deposed leader, never committed, or
 * garbage. Seen on a member restarted after it had been leader: its state machine applied an entry
 * no other member had (its registry diverged), or Atomix's apply loop found no entry where one was
 * committed and silently stopped applying for good (the member never became ready).
 *
 * <p>The guard wraps the member's log writer: after every truncation (and reset) it replaces the
 * readers Atomix uses on the Raft thread (the state machine's, and the one it compares appended
 * entries with) by fresh ones at the same place, and bumps {@link #generation()} so a reader on
 * another thread (the entry terms of the state machine) opens a fresh one before its next entry.
 * Installed before the member starts; it fails the start if Atomix is not the version it knows.
 */
final class TruncationGuard {
  private final RaftContext context;
  private volatile long generation;

  private TruncationGuard(RaftContext context) {
    this.context = context;
  }

  /** Wraps {@code context}'s log writer; call before the member starts. */
  static TruncationGuard install(RaftContext context) {
    TruncationGuard guard = new TruncationGuard(context);
    @SuppressWarnings("unchecked")
    SegmentedJournalWriter<io.atomix.protocols.raft.storage.log.entry.RaftLogEntry> journalWriter =
        (SegmentedJournalWriter<io.atomix.protocols.raft.storage.log.entry.RaftLogEntry>) read(DelegatingJournalWriter.class,
            context.getLogWriter(), "delegate");
    RaftLogWriter guarded = new RaftLogWriter(journalWriter, context.getLog()) {
      @Override
      public void truncate(long index) {
        super.truncate(index);
        guard.truncated(index);
      }

      @Override
      public void reset(long index) {
        super.reset(index);
        guard.truncated(index - 1);
      }
    };
    write(RaftContext.class, context, "logWriter", guarded);
    return guard;
  }

  /** Changes after every truncation of the log: a reader kept on another thread re-reads when it differs from what it last saw. */
  long generation() {
    return generation;
  }

  /**
   * Raft thread, after the log was cut after {@code index}: Atomix reset the readers past the cut; each
   * one behind it is replaced by a fresh reader at the same place, which reads the file as it is now
   * (a reset of the old reader was seen to miss entries afterwards).
   */
  private void truncated(long index) {
    generation++;
    renew(RaftContext.class, context, "logReader", RaftLogReader.Mode.ALL, index);
    renew(RaftServiceManager.class, context.getServiceManager(), "reader", RaftLogReader.Mode.COMMITS, index);
  }

  private void renew(Class<?> owner, Object target, String name, RaftLogReader.Mode mode, long index) {
    RaftLogReader old = (RaftLogReader) read(owner, target, name);
    long next = old.getNextIndex();
    if (next <= index) {
      write(owner, target, name, context.getLog().openReader(next, mode));
      old.close();
    }
  }

  private static Object read(Class<?> owner, Object target, String name) {
    try {
      return field(owner, name).get(target);
    } catch (IllegalAccessException e) {
      throw unexpected(owner, name, e);
    }
  }

  private static void write(Class<?> owner, Object target, String name, Object value) {
    try {
      field(owner, name).set(target, value);
    } catch (IllegalAccessException e) {
      throw unexpected(owner, name, e);
    }
  }

  private static Field field(Class<?> owner, String name) {
    try {
      Field f = owner.getDeclaredField(name);
      f.setAccessible(true);
      return f;
    } catch (NoSuchFieldException | RuntimeException e) {
      throw unexpected(owner, name, e);
    }
  }

  private static IllegalStateException unexpected(Class<?> owner, String name, Exception e) {
    return new IllegalStateException("cannot guard the Raft log against stale reads: Atomix's " + owner.getName() + "." + name
        + " is not as expected (atomix-raft must be 3.1.12)", e);
  }
}
