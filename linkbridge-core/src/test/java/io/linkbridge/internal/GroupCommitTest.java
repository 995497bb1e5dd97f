package io.linkbridge.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.linkbridge.LinkBridgeException;
import io.linkbridge.NoQuorumException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.WriteLimitException;
import io.linkbridge.internal.registry.CommandResult;
import io.linkbridge.internal.registry.RegistryCommand;
import io.linkbridge.internal.registry.RegistryStateMachine;
import io.linkbridge.spi.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The write path's bounds and threads, over a fake engine: a bounded queue, deadlines from
 * submission, callbacks off the engine's thread, and no write left hanging when answering fails.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class GroupCommitTest {
  private static final String ENGINE_THREAD = "fake-raft-completions";

  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
  private final ExecutorService engineThread = Executors.newSingleThreadExecutor(r -> new Thread(r, ENGINE_THREAD));
  private final ExecutorService callbacks = Executors.newCachedThreadPool(r -> new Thread(r, "test-write-callbacks"));
  private final RegistryStateMachine sm = new RegistryStateMachine();
  private final AtomicInteger proposals = new AtomicInteger();

  @AfterEach
  void stop() {
    timers.shutdownNow();
    engineThread.shutdownNow();
    callbacks.shutdownNow();
  }

  /** Commits every entry on the engine's own thread, as the Raft adapter completes proposals. */
  private CompletableFuture<byte[]> commitOnEngineThread(byte[] entry) {
    proposals.incrementAndGet();
    return CompletableFuture.supplyAsync(() -> sm.apply(1, entry), engineThread);
  }

  private GroupCommit groupCommit(Function<byte[], CompletableFuture<byte[]>> propose, int maxPending, Duration timeout,
      Optional<String> storageProblem) {
    return groupCommit(propose, 60_000, maxPending, timeout, storageProblem);
  }

  private GroupCommit groupCommit(Function<byte[], CompletableFuture<byte[]>> propose, int maxEntryBytes, int maxPending, Duration timeout,
      Optional<String> storageProblem) {
    return new GroupCommit(propose, new GroupCommit.Limits(maxEntryBytes, 1, maxPending, timeout), timers, callbacks, Clock.system(),
        () -> storageProblem);
  }

  private GroupCommit groupCommit(Function<byte[], CompletableFuture<byte[]>> propose) {
    return groupCommit(propose, 100, Duration.ofSeconds(10), Optional.empty());
  }

  private static RegistryCommand register(String id) {
    return new RegistryCommand.RegisterInstance(ServiceInstance.builder("s").id(id).endpoint("10.0.0.1", 1).build());
  }

  private static Throwable failure(CompletableFuture<?> f) {
    Throwable[] error = {null};
    f.handle((r, e) -> error[0] = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e).join();
    return error[0];
  }

  @Test
  void aWriteBeyondMaxPendingWrites_isRefusedAtOnce_namingTheLimitAndTheSetting() {
    GroupCommit gc = groupCommit(entry -> {
      proposals.incrementAndGet();
      return new CompletableFuture<>(); // the entry in flight never commits: everything after it queues
    }, 3, Duration.ofSeconds(10), Optional.empty());
    gc.submit(register("in-flight"));
    for (int i = 0; i < 3; i++) {
      assertThat(gc.submit(register("queued-" + i))).isNotDone();
    }

    CompletableFuture<CommandResult> refused = gc.submit(register("one-too-many"));

    assertThat(refused).isCompletedExceptionally();
    assertThat(failure(refused)).isInstanceOfSatisfying(WriteLimitException.class, e -> {
      assertThat(e.limit()).isEqualTo(3);
      assertThat(e).hasMessageContaining("maxPendingWrites (3)").hasMessageContaining("NodeBuilder.maxPendingWrites");
    });
    assertThat(proposals).hasValue(1);
  }

  /**
   * Entries of one command each, none ever committing: A is proposed, B and C queue. C's deadline
   * (from its submission) comes while it still waits, behind B or A, and C is never proposed.
   */
  @Test
  void aWriteStillQueuedAtItsDeadline_isDropped_andItsErrorSaysSo() {
    int oneCommand = RegistryCodec.toProto(register("a")).getSerializedSize() + 8;
    GroupCommit gc = groupCommit(entry -> {
      proposals.incrementAndGet();
      return new CompletableFuture<>();
    }, oneCommand, 100, Duration.ofMillis(300), Optional.empty());
    CompletableFuture<CommandResult> a = gc.submit(register("a"));
    gc.submit(register("b"));
    CompletableFuture<CommandResult> c = gc.submit(register("c"));

    assertThat(failure(c)).isInstanceOf(NoQuorumException.class)
        .hasMessageContaining("within writeTimeout (300ms) of its submission")
        .hasMessageContaining("still queued behind earlier writes").hasMessageContaining("will not be committed");
    assertThat(failure(a)).isInstanceOf(NoQuorumException.class).hasMessageContaining("it may still be committed");
    assertThat(proposals).as("the dropped write is never proposed").hasValueLessThanOrEqualTo(2);
  }

  @Test
  void aTimedOutWrite_namesTheStorageProblem_whenTheEngineKnowsOne() {
    GroupCommit gc = groupCommit(entry -> new CompletableFuture<>(), 100, Duration.ofMillis(200),
        Optional.of("broker b1 cannot append to its Raft log: /data/raft has 1 MiB free"));
    assertThat(failure(gc.submit(register("w")))).isInstanceOf(NoQuorumException.class)
        .hasMessageContaining("/data/raft has 1 MiB free").hasMessageNotContaining("no majority");
  }

  @Test
  void callbacks_neverRunOnTheEngineThread() {
    CompletableFuture<Void> release = new CompletableFuture<>(); // the commit waits until the callback is attached
    GroupCommit gc = groupCommit(entry -> release.thenApplyAsync(v -> sm.apply(1, entry), engineThread));
    AtomicReference<String> thread = new AtomicReference<>();
    CompletableFuture<Void> answered = gc.submit(register("w")).thenRun(() -> thread.set(Thread.currentThread().getName()));
    release.complete(null);
    answered.join();
    assertThat(thread.get()).isEqualTo("test-write-callbacks");
  }

  @Test
  void theWritesOfOneBatch_areAnsweredInLogOrder_byOneHandOff() {
    CompletableFuture<Void> release = new CompletableFuture<>();
    GroupCommit gc = groupCommit(entry -> {
      proposals.incrementAndGet();
      return release.thenApplyAsync(v -> sm.apply(1, entry), engineThread);
    }, 1000, Duration.ofSeconds(10), Optional.empty());
    gc.submit(register("first")); // in flight: the next 100 queue and go out as one batch
    java.util.List<Integer> order = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    java.util.Set<String> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
    java.util.List<CompletableFuture<?>> answers = new java.util.ArrayList<>();
    for (int i = 0; i < 100; i++) {
      int n = i;
      answers.add(gc.submit(register("w-" + i)).thenRun(() -> {
        order.add(n);
        threads.add(Thread.currentThread().getName() + "@" + System.identityHashCode(Thread.currentThread()));
      }));
    }
    release.complete(null);
    CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).join();
    assertThat(order).isSorted().hasSize(100);
    assertThat(threads).as("threads that answered the batch").hasSize(1);
  }

  @Test
  void aCallbackThatWaitsOnASecondWrite_holdsBackNeitherThatWriteNorOthers() {
    GroupCommit gc = groupCommit(this::commitOnEngineThread);
    CompletableFuture<CommandResult> chained = gc.submit(register("first")).thenApply(r -> gc.submit(register("second")).join());
    CompletableFuture<CommandResult> other = gc.submit(register("other"));

    await().atMost(Duration.ofSeconds(5)).until(() -> chained.isDone() && other.isDone());
    assertThat(chained).isCompletedWithValueMatching(r -> r instanceof CommandResult.Applied);
    assertThat(other).isCompletedWithValueMatching(r -> r instanceof CommandResult.Applied);
    assertThat(sm.state().instances("s")).hasSize(3);
  }

  @Test
  void resultsThatCannotBeRead_failTheirWrites_andTheWritesAfterThemGoOn() {
    List<CompletableFuture<byte[]>> answers = new ArrayList<>();
    GroupCommit gc = groupCommit(entry -> {
      CompletableFuture<byte[]> answer = proposals.incrementAndGet() == 1
          ? CompletableFuture.supplyAsync(() -> new byte[] {(byte) 0xff, 0x01}, engineThread) // not a BatchResult
          : commitOnEngineThread(entry);
      answers.add(answer);
      return answer;
    });
    CompletableFuture<CommandResult> garbled = gc.submit(register("garbled"));
    CompletableFuture<CommandResult> next = gc.submit(register("next"));

    await().atMost(Duration.ofSeconds(5)).until(() -> garbled.isDone() && next.isDone());
    assertThat(failure(garbled)).isInstanceOf(LinkBridgeException.class).hasMessageContaining("the write was committed, but its result could not be read");
    assertThat(next).isCompletedWithValueMatching(r -> r instanceof CommandResult.Applied);
  }

  @Test
  void fewerResultsThanCommands_failTheWrites_insteadOfLeavingThemHanging() {
    GroupCommit gc = groupCommit(entry -> CompletableFuture.supplyAsync(() -> RegistryCodec.encodeResults(List.of()), engineThread));
    CompletableFuture<CommandResult> write = gc.submit(register("w"));
    await().atMost(Duration.ofSeconds(5)).until(write::isDone);
    assertThat(failure(write)).isInstanceOf(LinkBridgeException.class).hasMessageContaining("0 results for 1 commands");
  }
}
