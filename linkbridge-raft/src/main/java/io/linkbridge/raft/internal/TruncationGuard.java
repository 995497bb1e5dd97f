package io.linkbridge.raft.internal;

import io.atomix.protocols.raft.impl.RaftContext;
import io.atomix.protocols.raft.impl.RaftServiceManager;
import io.atomix.protocols.raft.storage.log.RaftLogReader;
import io.atomix.protocols.raft.storage.log.RaftLogWriter;
import io.atomix.protocols.raft.storage.log.entry.RaftLogEntry;
import io.atomix.storage.journal.DelegatingJournalReader;
import io.atomix.storage.journal.DelegatingJournalWriter;
import io.atomix.storage.journal.Indexed;
import io.atomix.storage.journal.SegmentedJournalReader;
import io.atomix.storage.journal.SegmentedJournalWriter;
import java.lang.reflect.Field;

/**
 * Works around a defect of Atomix 3.1.12's log readers on {@code StorageLevel.DISK}: a segment
 * reader reads ahead up to twice the largest entry size into a buffer of its own, and when the log's
 * tail is cut and written again (a follower whose uncommitted entries the leader replaces), Atomix
 * resets only the readers positioned past the cut. A reader behind the cut later reads the replaced
 * entries from its stale buffer: the entries of a deposed leader, never committed, or garbage. Seen
 * on a member restarted after it had been leader: its state machine applied an entry no other member
 * had (its registry diverged), or Atomix's apply loop found no entry where one was committed and
 * silently stopped applying for good (the member never became ready).
 *
 * <p>The guard wraps the member's log writer. After every cut (and reset) it replaces the readers
 * Atomix uses on the Raft thread (the state machine's, and the one appended entries are compared
 * with) by fresh ones at the same place, which read the file as it is now. The state machine's
 * reader also records each entry's term for {@link EntryTerms}. Installed before the member starts;
 * it fails the start if Atomix is not the version it knows (private fields, read by reflection).
 */
final class TruncationGuard {
  private static final Field WRITER = field(RaftContext.class, "logWriter");
  private static final Field CONTEXT_READER = field(RaftContext.class, "logReader");
  private static final Field SERVICE_READER = field(RaftServiceManager.class, "reader");
  private static final Field WRITER_DELEGATE = field(DelegatingJournalWriter.class, "delegate");
  private static final Field READER_DELEGATE = field(DelegatingJournalReader.class, "delegate");

  private final RaftContext context;
  private final EntryTerms terms;

  private TruncationGuard(RaftContext context, EntryTerms terms) {
    this.context = context;
    this.terms = terms;
  }

  /** Wraps {@code context}'s log writer and the state machine's reader; call before the member starts. */
  static void install(RaftContext context, EntryTerms terms) {
    TruncationGuard guard = new TruncationGuard(context, terms);
    @SuppressWarnings("unchecked")
    SegmentedJournalWriter<RaftLogEntry> journalWriter = (SegmentedJournalWriter<RaftLogEntry>) get(WRITER_DELEGATE, context.getLogWriter());
    RaftLogWriter guarded = new RaftLogWriter(journalWriter, context.getLog()) {
      @Override
      public void truncate(long index) {
        super.truncate(index);
        guard.renewReaders(index);
      }

      @Override
      public void reset(long index) {
        super.reset(index); // moves the readers behind index up to it, through their old buffers
        guard.renewReaders(index);
      }
    };
    set(WRITER, context, guarded);
    RaftLogReader service = (RaftLogReader) get(SERVICE_READER, context.getServiceManager());
    set(SERVICE_READER, context.getServiceManager(), guard.recording(service.getNextIndex()));
    service.close();
  }

  /** Raft thread, after the log changed after {@code index}: the readers at or behind it start afresh at the same place. */
  private void renewReaders(long index) {
    RaftLogReader reader = (RaftLogReader) get(CONTEXT_READER, context);
    if (reader.getNextIndex() <= index + 1) {
      set(CONTEXT_READER, context, context.getLog().openReader(reader.getNextIndex()));
      reader.close();
    }
    RaftLogReader service = (RaftLogReader) get(SERVICE_READER, context.getServiceManager());
    if (service.getNextIndex() <= index + 1) {
      set(SERVICE_READER, context.getServiceManager(), recording(service.getNextIndex()));
      service.close();
    }
  }

  /** A reader at {@code next} that records the term of each entry it reads. */
  private RaftLogReader recording(long next) {
    @SuppressWarnings("unchecked")
    SegmentedJournalReader<RaftLogEntry> journalReader = (SegmentedJournalReader<RaftLogEntry>) get(READER_DELEGATE,
        context.getLog().openReader(next));
    return new RaftLogReader(journalReader, context.getLog(), RaftLogReader.Mode.ALL) {
      @Override
      public Indexed<RaftLogEntry> next() {
        Indexed<RaftLogEntry> entry = super.next();
        terms.read(entry.index(), entry.entry().term());
        return entry;
      }
    };
  }

  private static Object get(Field f, Object target) {
    try {
      return f.get(target);
    } catch (IllegalAccessException e) {
      throw unexpected(f.getDeclaringClass(), f.getName(), e);
    }
  }

  private static void set(Field f, Object target, Object value) {
    try {
      f.set(target, value);
    } catch (IllegalAccessException e) {
      throw unexpected(f.getDeclaringClass(), f.getName(), e);
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
