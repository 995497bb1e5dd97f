package io.linkbridge.raft.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Forces the Raft log to disk. Atomix 3.1.12 fsyncs its log only when a segment rolls or closes, so
 * without this an acknowledged write can be lost on power failure. The segment writer writes every
 * entry through to its file, so forcing the newest segment file (and, after a roll, the new files and
 * the directory) makes everything appended so far durable.
 *
 * <p>One force runs at a time and covers every request made before it started; a request for an
 * index already durable in the same term completes at once. A force that fails is fatal: nothing
 * can say which of the writes since the last good force reached the disk, so every waiting and every
 * later request fails and {@code onFailure} is told once (as etcd treats a WAL error). Thread-safe.
 */
final class LogForcer {
  /** Where forcing a file to disk happens: the real fsync, or a test's power-loss model. */
  interface Disk {
    Disk REAL = (channel, file) -> channel.force(false);

    /** Makes everything written to {@code file} so far durable; throws if it cannot. */
    void force(FileChannel channel, Path file) throws IOException;
  }

  private final Path directory;
  private final String segmentPrefix;
  private final ExecutorService executor;
  private final AtomicLong forces = new AtomicLong();
  private final Disk disk;
  private final Consumer<Throwable> onFailure;
  private Throwable failure; // guarded by this; final once set
  // Owned by the fsync thread: the newest segment, kept open so a force is one fsync call.
  private FileChannel newest;
  private long newestId = -1;
  private List<Waiter> waiters = new ArrayList<>();
  private boolean forcing;
  private boolean closed;
  private long durableTerm = -1;
  private long durableIndex;

  private record Waiter(long term, long index, CompletableFuture<Void> future) {}

  LogForcer(Path directory, String segmentPrefix, String memberId, Disk disk, Consumer<Throwable> onFailure) {
    this.directory = directory;
    this.disk = disk;
    this.onFailure = onFailure;
    this.segmentPrefix = segmentPrefix;
    this.executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "linkbridge-raft-fsync-" + memberId);
      t.setDaemon(true);
      return t;
    });
  }

  /** Completes once every log entry up to {@code index}, appended in {@code term}, is on disk. */
  CompletableFuture<Void> force(long term, long index) {
    CompletableFuture<Void> f;
    synchronized (this) {
      if (term == durableTerm && index <= durableIndex) {
        return CompletableFuture.completedFuture(null);
      }
      if (failure != null) {
        return CompletableFuture.failedFuture(failure);
      }
      if (closed) {
        return CompletableFuture.failedFuture(new IllegalStateException("Raft log is closed"));
      }
      f = new CompletableFuture<>();
      waiters.add(new Waiter(term, index, f));
      if (forcing) {
        return f;
      }
      forcing = true;
    }
    executor.execute(this::drain);
    return f;
  }

  /** How many times the log was forced: for tests and metrics. */
  long forceCount() {
    return forces.get();
  }

  void close() {
    List<Waiter> dropped;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      dropped = waiters;
      waiters = new ArrayList<>();
    }
    dropped.forEach(w -> w.future().completeExceptionally(new IllegalStateException("Raft log closed before it was forced")));
    executor.execute(() -> {
      try {
        if (newest != null) {
          newest.close();
        }
      } catch (IOException e) {
        // closing a channel we only forced: nothing to lose
      }
    });
    executor.shutdown();
  }

  private void drain() {
    while (true) {
      List<Waiter> batch;
      synchronized (this) {
        if (waiters.isEmpty() || closed) {
          forcing = false;
          return;
        }
        batch = waiters;
        waiters = new ArrayList<>();
      }
      try {
        forceSegments();
      } catch (IOException | RuntimeException e) {
        fail(batch, e);
        return;
      }
      synchronized (this) {
        for (Waiter w : batch) {
          if (w.term() > durableTerm) {
            durableTerm = w.term();
            durableIndex = w.index();
          } else if (w.term() == durableTerm) {
            durableIndex = Math.max(durableIndex, w.index());
          }
        }
      }
      batch.forEach(w -> w.future().complete(null));
    }
  }

  /** The log can no longer be trusted: fail every waiter now and later, and say so once. */
  private void fail(List<Waiter> batch, Exception cause) {
    IOException failed = new IOException("the Raft log in " + directory + " could not be forced to disk: " + cause, cause);
    List<Waiter> queued;
    synchronized (this) {
      failure = failed;
      forcing = false;
      queued = waiters;
      waiters = new ArrayList<>();
    }
    onFailure.accept(failed); // first: the broker stops serving before anyone hears of the failed write
    batch.forEach(w -> w.future().completeExceptionally(failed));
    queued.forEach(w -> w.future().completeExceptionally(failed));
  }

  private void forceSegments() throws IOException {
    forces.incrementAndGet();
    if (newest == null || Files.exists(segment(newestId + 1))) {
      openNewest(); // first force, or the log rolled to a new segment since the last one
    }
    if (newest != null) {
      disk.force(newest, segment(newestId));
    }
  }

  /** Forces every segment not forced yet (a roll writes the old one's tail) and the directory, and keeps the newest open. */
  private void openNewest() throws IOException {
    List<Long> ids;
    try (Stream<Path> files = Files.list(directory)) {
      ids = files.map(f -> LogIntegrityCheck.segmentId(f, segmentPrefix)).filter(id -> id >= 0).sorted().toList();
    }
    if (ids.isEmpty()) {
      return;
    }
    for (long id : ids) {
      if (id > newestId && id < ids.get(ids.size() - 1)) {
        forceOnce(segment(id));
      }
    }
    if (newest != null) {
      disk.force(newest, segment(newestId));
      newest.close();
    }
    newestId = ids.get(ids.size() - 1);
    newest = FileChannel.open(segment(newestId), StandardOpenOption.WRITE);
    forceDirectory();
  }

  private Path segment(long id) {
    return directory.resolve(segmentPrefix + "-" + id + ".log");
  }

  private void forceOnce(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      disk.force(ch, file);
    } catch (java.nio.file.NoSuchFileException e) {
      // compacted away since it was listed: nothing left to make durable
    } catch (IOException e) {
      throw new UncheckedIOException("cannot force the Raft log segment " + file + " to disk", e);
    }
  }

  private void forceDirectory() {
    try (FileChannel ch = FileChannel.open(directory, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // not every platform can fsync a directory; the segment contents are forced regardless
    }
  }
}
