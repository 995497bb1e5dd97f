package io.linkbridge.internal;

import io.linkbridge.LinkBridgeException;
import io.linkbridge.NoQuorumException;
import io.linkbridge.WriteLimitException;
import io.linkbridge.internal.registry.CommandResult;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.spi.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coalesces registry commands into log entries (group commit): while a batch is in flight, arriving
 * commands queue; when it commits, everything queued goes out as the next entry. Throughput therefore
 * grows with load instead of queueing behind one fsync per command.
 *
 * <p>Bounds: at most {@code maxPendingWrites} commands queue; one more fails at once with
 * {@link WriteLimitException}. Every write is answered within the write timeout counted from its
 * submission, queueing included: a write still queued then is dropped (it will not commit); one in
 * flight may still commit.
 *
 * <p>Threads: results are decided on whichever thread finishes the proposal (the engine's) or on the
 * timer thread, but the callers' futures are completed on {@code callbacks}, so a caller's callback
 * never runs on the engine's thread, and one that blocks (even on a second write) holds back neither
 * the next batch nor other writes. Thread-safe.
 */
final class GroupCommit implements RegistryWrites {
  private static final Logger log = LoggerFactory.getLogger(GroupCommit.class);

  /** The bounds of the write path. */
  record Limits(int maxEntryBytes, int maxInFlight, int maxPendingWrites, Duration writeTimeout) {}

  private final Function<byte[], CompletableFuture<byte[]>> propose;
  private final Limits limits;
  private final ScheduledExecutorService timers;
  private final Executor callbacks;
  private final Clock clock;
  private final Supplier<Optional<String>> storageProblem;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int inFlight;
  private boolean closed;
  /** While a batch is decided on this thread: its callers' answers, completed together afterwards. */
  private final ThreadLocal<List<Runnable>> answering = new ThreadLocal<>();

  /** One submitted command: decided once (internally), then answered to its caller on a callbacks thread. */
  private static final class Pending {
    final RegistryCommand command;
    final int size;
    final long submitted;
    final CompletableFuture<CommandResult> decided = new CompletableFuture<>();
    volatile long proposed; // set when it goes out in a batch

    Pending(RegistryCommand command, int size, long submitted) {
      this.command = command;
      this.size = size;
      this.submitted = submitted;
    }
  }

  /**
   * @param timers answers writes whose time is up; its thread runs nothing else
   * @param callbacks completes the callers' futures (and so runs their callbacks)
   * @param storageProblem why this broker cannot append to its log now, if it can tell: named in a timeout's error
   */
  GroupCommit(Function<byte[], CompletableFuture<byte[]>> propose, Limits limits, ScheduledExecutorService timers, Executor callbacks,
      Clock clock, Supplier<Optional<String>> storageProblem) {
    this.propose = propose;
    this.limits = limits;
    this.timers = timers;
    this.callbacks = callbacks;
    this.clock = clock;
    this.storageProblem = storageProblem;
  }

  @Override
  public CompletableFuture<CommandResult> submit(RegistryCommand command) {
    int size = RegistryCodec.toProto(command).getSerializedSize() + 8;
    if (size > limits.maxEntryBytes()) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("command of " + size + " bytes exceeds maxEntrySize ("
          + limits.maxEntryBytes() + " bytes): raise NodeBuilder.maxEntrySize"));
    }
    Pending p = new Pending(command, size, clock.nanoTime());
    synchronized (this) {
      if (closed) {
        return CompletableFuture.failedFuture(new LinkBridgeException("node is shut down: the write was not submitted"));
      }
      if (queue.size() >= limits.maxPendingWrites()) {
        return CompletableFuture.failedFuture(new WriteLimitException(limits.maxPendingWrites(), "write refused at once: "
            + queue.size() + " writes already wait behind the one committing now, the limit maxPendingWrites (" + limits.maxPendingWrites()
            + "); nothing was written: retry later, spread the writes, or raise NodeBuilder.maxPendingWrites"));
      }
      queue.add(p);
    }
    CompletableFuture<CommandResult> answer = new CompletableFuture<>();
    p.decided.whenComplete((r, e) -> answer(answer, r, e));
    try {
      ScheduledFuture<?> timer = timers.schedule(() -> expire(p), limits.writeTimeout().toMillis(), TimeUnit.MILLISECONDS);
      p.decided.whenComplete((r, e) -> timer.cancel(false));
    } catch (RejectedExecutionException e) {
      // shutting down: close() fails what is queued
    }
    flush();
    return answer;
  }

  /**
   * Completes a caller's future on a callbacks thread; where none is left (shut down), here. The
   * answers of one batch are collected and completed by one task, in log order: a batch costs one
   * hand-off, not one thread per write, and a callback that blocks holds back only its own batch.
   */
  private void answer(CompletableFuture<CommandResult> answer, CommandResult result, Throwable error) {
    Runnable complete = () -> {
      if (error != null) {
        answer.completeExceptionally(error);
      } else {
        answer.complete(result);
      }
    };
    List<Runnable> batch = answering.get();
    if (batch != null) {
      batch.add(complete);
    } else {
      hand(List.of(complete));
    }
  }

  private void hand(List<Runnable> answers) {
    Runnable all = () -> answers.forEach(Runnable::run);
    try {
      callbacks.execute(all);
    } catch (RejectedExecutionException e) {
      all.run();
    }
  }

  /** The write's time is up: drop it if it is still queued, and answer its caller saying what it waited for. */
  private void expire(Pending p) {
    if (p.decided.isDone()) {
      return;
    }
    boolean dropped;
    synchronized (this) {
      dropped = queue.remove(p);
    }
    timedOut(p, dropped);
  }

  private void timedOut(Pending p, boolean dropped) {
    long timeout = limits.writeTimeout().toMillis();
    String what;
    if (dropped) {
      what = "write not committed within writeTimeout (" + timeout + "ms) of its submission, and dropped: it was still queued behind"
          + " earlier writes that had not committed, so it will not be committed";
    } else {
      long queued = TimeUnit.NANOSECONDS.toMillis(p.proposed - p.submitted);
      what = "write not committed within writeTimeout (" + timeout + "ms) of its submission: it waited " + queued
          + "ms for the writes ahead of it, then was proposed; it may still be committed";
    }
    p.decided.completeExceptionally(new NoQuorumException(what + ": " + cause(), null));
  }

  /** Why writes do not commit, as far as this broker can tell. */
  private String cause() {
    Optional<String> storage;
    try {
      storage = storageProblem.get();
    } catch (RuntimeException e) {
      storage = Optional.empty();
    }
    return storage.orElse("no majority of brokers confirmed it in time; check that a majority is running and reachable");
  }

  /** Fails everything queued; later submissions fail at once. */
  void close() {
    List<Pending> dropped;
    synchronized (this) {
      closed = true;
      dropped = new ArrayList<>(queue);
      queue.clear();
    }
    dropped.forEach(p -> p.decided.completeExceptionally(new LinkBridgeException("node shut down before the write was proposed")));
  }

  private void flush() {
    List<Pending> batch;
    List<Pending> late = new ArrayList<>();
    long now = clock.nanoTime();
    synchronized (this) {
      if (inFlight >= limits.maxInFlight() || queue.isEmpty()) {
        return;
      }
      batch = new ArrayList<>();
      int bytes = 0;
      while (!queue.isEmpty() && bytes + queue.peek().size <= limits.maxEntryBytes()) {
        Pending p = queue.poll();
        if (now - p.submitted >= limits.writeTimeout().toNanos()) {
          late.add(p); // its deadline has passed while it queued: never propose it
          continue;
        }
        bytes += p.size;
        p.proposed = now;
        batch.add(p);
      }
      if (!batch.isEmpty()) {
        inFlight++;
      }
    }
    late.forEach(p -> timedOut(p, true));
    if (batch.isEmpty()) {
      return;
    }
    List<RegistryCommand> commands = new ArrayList<>(batch.size());
    for (Pending p : batch) {
      commands.add(p.command);
    }
    CompletableFuture<byte[]> proposal;
    try {
      proposal = propose.apply(RegistryCodec.encodeBatch(commands));
    } catch (RuntimeException e) {
      proposal = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<byte[]> bounded = proposal.toCompletableFuture(); // frees the slot when the engine never answers
    try {
      ScheduledFuture<?> timer = timers.schedule(() -> bounded.completeExceptionally(new TimeoutException()), limits.writeTimeout().toMillis(),
          TimeUnit.MILLISECONDS);
      bounded.whenComplete((r, e) -> timer.cancel(false));
    } catch (RejectedExecutionException e) {
      bounded.completeExceptionally(new LinkBridgeException("node shut down before the write was committed"));
    }
    bounded.whenComplete((bytes, error) -> committed(batch, bytes, error));
  }

  /** A batch is done: decide each of its writes, then send the next batch, whatever went wrong here. */
  private void committed(List<Pending> batch, byte[] bytes, Throwable error) {
    List<Runnable> answers = new ArrayList<>(batch.size());
    answering.set(answers);
    try {
      synchronized (this) {
        inFlight--;
      }
      decide(batch, bytes, error);
    } catch (RuntimeException | Error e) {
      log.error("Failed to answer a batch of {} write(s); failing them", batch.size(), e);
      LinkBridgeException failure = new LinkBridgeException("the broker failed to answer this write: " + e, e);
      batch.forEach(p -> p.decided.completeExceptionally(failure));
    } finally {
      answering.remove();
      if (!answers.isEmpty()) {
        hand(answers);
      }
      flush();
    }
  }

  private void decide(List<Pending> batch, byte[] bytes, Throwable error) {
    if (error != null) {
      RuntimeException failure = translate(error, batch.size());
      batch.forEach(p -> p.decided.completeExceptionally(failure));
      return;
    }
    List<CommandResult> results;
    try {
      results = RegistryCodec.decodeResults(bytes);
      if (results.size() != batch.size()) {
        throw new IllegalStateException(results.size() + " results for " + batch.size() + " commands");
      }
    } catch (RuntimeException e) {
      log.error("The result of a committed batch of {} write(s) could not be read", batch.size(), e);
      LinkBridgeException failure = new LinkBridgeException("the write was committed, but its result could not be read ("
          + e.getMessage() + "): read the registry to see what it did", e);
      batch.forEach(p -> p.decided.completeExceptionally(failure));
      return;
    }
    for (int i = 0; i < batch.size(); i++) {
      batch.get(i).decided.complete(results.get(i));
    }
  }

  private RuntimeException translate(Throwable error, int commands) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof LinkBridgeException lbe) {
      return lbe;
    }
    if (cause instanceof TimeoutException) {
      return new NoQuorumException("write of " + commands + " command(s) not committed within writeTimeout (" + limits.writeTimeout().toMillis()
          + "ms) of its proposal: " + cause(), cause);
    }
    return new LinkBridgeException("write failed: " + cause, cause);
  }
}
