package io.linkbridge.internal.watch;

import static org.assertj.core.api.Assertions.assertThat;

import io.linkbridge.ServiceInstance;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import io.linkbridge.spi.WatchItem;
import io.linkbridge.spi.WatchSink;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One watch's queue, driven by hand: drains run at once on the calling thread. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ServiceWatchTest {
  private final WatchHubTest.Sink sink = new WatchHubTest.Sink();
  private int forgotten;

  private ServiceWatch watch(long from, int maxQueued) {
    return watch(from, maxQueued, WatchHub.MAX_QUEUED_BYTES);
  }

  private ServiceWatch watch(long from, int maxQueued, long maxQueuedBytes) {
    return new ServiceWatch("client", "greeter", from, sink, Runnable::run, maxQueued, maxQueuedBytes, TimeUnit.MINUTES.toNanos(1),
        System::nanoTime, w -> forgotten++);
  }

  private static WatchItem change(long revision) {
    ServiceInstance i = ServiceInstance.builder("greeter").id("a").endpoint("10.0.0.1", 9000).build();
    return WatchItem.change("greeter", new RegistryEvent(revision, RegistryEvent.Type.INSTANCE_UPDATED, i, null), ClusterState.EMPTY);
  }

  @Test
  void changesOfferedBeforeStart_goOutOnlyIfNewerThanTheSnapshot() {
    ServiceWatch w = watch(0, 100);
    w.offer(change(5)); // applied while the snapshot was being read: in it already
    w.offer(change(6));
    w.offer(change(7)); // applied after the snapshot's revision
    w.start(List.of(WatchItem.snapshot("greeter", ClusterState.EMPTY)), 6);
    assertThat(sink.items).extracting(WatchItem::kind).containsExactly(WatchItem.Kind.SNAPSHOT, WatchItem.Kind.CHANGE);
    assertThat(sink.changeRevisions()).containsExactly(7L);
    w.offer(change(7)); // an event at or below what was sent is never sent again
    w.offer(change(8));
    assertThat(sink.changeRevisions()).containsExactly(7L, 8L);
  }

  @Test
  void notReady_nothingIsWritten_untilTheStreamSaysItIsReady() {
    ServiceWatch w = watch(0, 100);
    w.start(List.of(), 3);
    sink.ready.set(false);
    w.offer(change(4));
    w.offer(change(5));
    assertThat(sink.changeRevisions()).isEmpty();
    sink.ready.set(true);
    w.ready();
    assertThat(sink.changeRevisions()).containsExactly(4L, 5L);
  }

  @Test
  void pastItsBound_theWatchEndsNamingTheLastRevisionSent_andIsForgottenOnce() {
    ServiceWatch w = watch(0, 3);
    w.start(List.of(), 3);
    w.offer(change(4));
    sink.ready.set(false);
    for (long r = 5; r <= 10; r++) {
      w.offer(change(r));
    }
    assertThat(sink.ended).isCompleted();
    WatchSink.Ending e = sink.ended.join();
    assertThat(e.reason()).isEqualTo(WatchSink.Reason.TOO_FAR_BEHIND);
    assertThat(e.resumeFrom()).isEqualTo(4);
    assertThat(e.description()).contains("from_revision=4");
    w.close();
    assertThat(forgotten).isEqualTo(1);
  }

  @Test
  void pastItsByteBound_theWatchEnds_beforeItsEventBound_aSnapshotDoesNotCount() {
    ServiceInstance.Builder b = ServiceInstance.builder("greeter").id("a").endpoint("10.0.0.1", 9000);
    for (int k = 0; k < 8; k++) {
      b.metadata("blob" + k, "x".repeat(500)); // 4 kB: the most metadata an instance may have
    }
    ServiceInstance big = b.build();
    ClusterState hundred = ClusterState.of(1, java.util.stream.IntStream.range(0, 100)
        .mapToObj(n -> big.toBuilder().id("i" + n).build()).toList(), List.of());
    ServiceWatch w = watch(0, 10_000, 100_000);
    sink.ready.set(false);
    w.start(List.of(WatchItem.snapshot("greeter", hundred)), 1); // 400 kB, sent once: not counted
    for (long r = 2; r <= 21; r++) {
      w.offer(WatchItem.change("greeter", new RegistryEvent(r, RegistryEvent.Type.INSTANCE_UPDATED, big, null), hundred));
    }
    assertThat(sink.ended).isNotCompleted(); // 20 x 4 kB
    for (long r = 22; r <= 31; r++) {
      w.offer(WatchItem.change("greeter", new RegistryEvent(r, RegistryEvent.Type.INSTANCE_UPDATED, big, null), hundred));
    }
    assertThat(sink.ended).isCompleted();
    assertThat(sink.ended.join().reason()).isEqualTo(WatchSink.Reason.TOO_FAR_BEHIND);
    assertThat(sink.ended.join().description()).contains("fell more than 100000 bytes of events behind", "from_revision=0");
  }

  @Test
  void aDrainNotice_weighsItsAlternatives() {
    ServiceInstance up = ServiceInstance.builder("greeter").id("a").endpoint("10.0.0.1", 9000).metadata("k", "v".repeat(500)).build();
    List<ServiceInstance> all = java.util.stream.IntStream.range(0, 50).mapToObj(n -> up.toBuilder().id("i" + n).build()).toList();
    ServiceInstance drained = all.get(0).withState(io.linkbridge.InstanceState.DRAINING);
    ClusterState state = ClusterState.of(2, java.util.stream.Stream.concat(java.util.stream.Stream.of(drained), all.stream().skip(1)).toList(),
        List.of());
    WatchItem notice = WatchItem.change("greeter", new RegistryEvent(2, RegistryEvent.Type.INSTANCE_UPDATED, drained, null), state);
    WatchItem update = WatchItem.change("greeter", new RegistryEvent(2, RegistryEvent.Type.INSTANCE_UPDATED, all.get(1), null), state);
    assertThat(notice.alternatives()).hasSize(49);
    assertThat(update.alternatives()).isEmpty();
    assertThat(notice.estimatedBytes()).isGreaterThan(49 * 500L).isGreaterThan(40 * update.estimatedBytes());
  }

  @Test
  void clientGone_nothingMoreIsWritten() {
    ServiceWatch w = watch(0, 100);
    w.start(List.of(), 3);
    w.close();
    int before = sink.items.size();
    w.offer(change(4));
    assertThat(sink.items).hasSize(before);
    assertThat(sink.ended).isNotDone();
    assertThat(forgotten).isEqualTo(1);
  }

  @Test
  void stateRestoredWhileTheWatchStarts_itsSnapshotFollowsTheOlderStart() {
    ServiceWatch w = watch(0, 100);
    w.offer(change(101));
    w.restored(WatchItem.snapshot("greeter", ClusterState.EMPTY)); // the apply thread installed a snapshot meanwhile
    w.start(List.of(WatchItem.snapshot("greeter", ClusterState.EMPTY)), 100); // read before the restore
    assertThat(sink.items).extracting(WatchItem::kind).containsExactly(WatchItem.Kind.SNAPSHOT, WatchItem.Kind.SNAPSHOT);
  }

  @Test
  void brokerLeavesBeforeTheWatchStarted_noChangeGoesOutWithoutItsSnapshot() {
    ServiceWatch w = watch(0, 100);
    w.offer(change(101));
    w.leave(WatchItem.brokerLeaving("greeter", 101, List.of()), new WatchSink.Ending(WatchSink.Reason.BROKER_LEAVING, 0, "leaving"));
    w.start(List.of(WatchItem.snapshot("greeter", ClusterState.EMPTY)), 100);
    assertThat(sink.items).extracting(WatchItem::kind).containsExactly(WatchItem.Kind.BROKER_LEAVING);
    assertThat(sink.ended).isCompleted();
  }
}
