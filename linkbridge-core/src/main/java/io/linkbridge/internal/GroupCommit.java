package io.linkbridge.internal;

import io.linkbridge.LinkBridgeException;
import io.linkbridge.NoQuorumException;
import io.linkbridge.registry.CommandResult;
import io.linkbridge.registry.RegistryCommand;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Coalesces registry commands into log entries (group commit): while a batch is in flight, arriving
 * commands queue; when it commits, everything queued goes out as the next entry. Throughput therefore
 * grows with load instead of queueing behind one fsync per command. Every write is answered within
 * the write timeout counted from its submission, queueing included: a write still queued then is
 * dropped (it will not commit); one in flight may still commit. Thread-safe.
 */
final class GroupCommit {
  private final Function<byte[], CompletableFuture<byte[]>> propose;
  private final int maxEntryBytes;
  private final int maxInFlight;
  private final Duration timeout;
  private final ScheduledExecutorService timers;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int inFlight;
  private boolean closed;

  private record Pending(RegistryCommand command, int size, CompletableFuture<CommandResult> future) {}

  /** {@code timers} answers writes whose time is up; its thread runs nothing else. */
  GroupCommit(Function<byte[], CompletableFuture<byte[]>> propose, int maxEntryBytes, int maxInFlight, Duration timeout,
      ScheduledExecutorService timers) {
    this.propose = propose;
    this.timers = timers;
    this.maxEntryBytes = maxEntryBytes;
    this.maxInFlight = maxInFlight;
    this.timeout = timeout;
  }

  CompletableFuture<CommandResult> submit(RegistryCommand command) {
    int size = RegistryCodec.toProto(command).getSerializedSize() + 8;
    if (size > maxEntryBytes) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(
          "command of " + size + " bytes exceeds maxEntrySize (" + maxEntryBytes + " bytes): raise NodeBuilder.maxEntrySize"));
    }
    CompletableFuture<CommandResult> f = new CompletableFuture<>();
    synchronized (this) {
      if (closed) {
        return CompletableFuture.failedFuture(new LinkBridgeException("node is shut down: the write was not submitted"));
      }
      queue.add(new Pending(command, size, f));
    }
    try {
      ScheduledFuture<?> timer = timers.schedule(() -> expire(f), timeout.toMillis(), TimeUnit.MILLISECONDS);
      f.whenComplete((r, e) -> timer.cancel(false));
    } catch (RejectedExecutionException e) {
      // shutting down: close() fails what is queued
    }
    flush();
    return f;
  }

  /** The write's time is up: drop it if it is still queued, and answer its caller. */
  private void expire(CompletableFuture<CommandResult> f) {
    if (f.isDone()) {
      return;
    }
    boolean dropped;
    synchronized (this) {
      dropped = queue.removeIf(p -> p.future() == f);
    }
    f.completeExceptionally(new NoQuorumException("write not committed within writeTimeout (" + timeout.toMillis() + "ms)"
        + (dropped ? ", it was still waiting for the write ahead of it and was dropped" : ", it may still be committed")
        + ": no majority of brokers answered in time; check that a majority is running and reachable", null));
  }

  /** Fails everything queued; later submissions fail at once. */
  void close() {
    List<Pending> dropped;
    synchronized (this) {
      closed = true;
      dropped = new ArrayList<>(queue);
      queue.clear();
    }
    dropped.forEach(p -> p.future().completeExceptionally(new LinkBridgeException("node shut down before the write was proposed")));
  }

  private void flush() {
    List<Pending> batch;
    synchronized (this) {
      if (inFlight >= maxInFlight || queue.isEmpty()) {
        return;
      }
      batch = new ArrayList<>();
      int bytes = 0;
      while (!queue.isEmpty() && bytes + queue.peek().size() <= maxEntryBytes) {
        Pending p = queue.poll();
        bytes += p.size();
        batch.add(p);
      }
      inFlight++;
    }
    List<RegistryCommand> commands = new ArrayList<>(batch.size());
    batch.forEach(p -> commands.add(p.command()));
    CompletableFuture<byte[]> proposal;
    try {
      proposal = propose.apply(RegistryCodec.encodeBatch(commands));
    } catch (RuntimeException e) {
      proposal = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<byte[]> bounded = proposal; // timed out on this component's own thread, not the JDK's shared one
    try {
      ScheduledFuture<?> timer = timers.schedule(() -> bounded.completeExceptionally(new TimeoutException()), timeout.toMillis(),
          TimeUnit.MILLISECONDS);
      bounded.whenComplete((r, e) -> timer.cancel(false));
    } catch (RejectedExecutionException e) {
      bounded.completeExceptionally(new LinkBridgeException("node shut down before the write was committed"));
    }
    bounded.whenComplete((bytes, error) -> {
      synchronized (this) {
        inFlight--;
      }
      if (error != null) {
        RuntimeException failure = translate(error, batch.size());
        batch.forEach(p -> p.future().completeExceptionally(failure));
      } else {
        List<CommandResult> results = RegistryCodec.decodeResults(bytes);
        for (int i = 0; i < batch.size(); i++) {
          batch.get(i).future().complete(results.get(i));
        }
      }
      flush();
    });
  }

  private RuntimeException translate(Throwable error, int commands) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof LinkBridgeException lbe) {
      return lbe;
    }
    if (cause instanceof TimeoutException) {
      return new NoQuorumException("write of " + commands + " command(s) not committed within writeTimeout (" + timeout.toMillis()
          + "ms): no majority of brokers answered; check that a majority is running and reachable", cause);
    }
    return new LinkBridgeException("write failed: " + cause, cause);
  }
}
