package io.linkbridge.internal.watch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.linkbridge.HostAndPort;
import io.linkbridge.LinkBridge;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.spi.LocalConsensusProvider;
import io.linkbridge.spi.WatchItem;
import io.linkbridge.spi.WatchSink;
import io.linkbridge.spi.Watches;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The watch hub of a real single-broker node (in-memory log), through fake sinks. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WatchHubTest {
  @TempDir Path dir;
  private DefaultNode node;
  private WatchHub hub;

  /** Records what the hub writes; ready or not as the test says. */
  static class Sink implements WatchSink {
    final List<WatchItem> items = new CopyOnWriteArrayList<>();
    final CompletableFuture<Ending> ended = new CompletableFuture<>();
    final AtomicBoolean ready = new AtomicBoolean(true);
    final AtomicBoolean writing = new AtomicBoolean();
    volatile String overlap;

    @Override
    public boolean isReady() {
      return ready.get();
    }

    @Override
    public void send(WatchItem item) {
      if (!writing.compareAndSet(false, true)) {
        overlap = "two writers at once";
      }
      items.add(item);
      writing.set(false);
    }

    @Override
    public void end(Ending ending) {
      if (!ended.complete(ending)) {
        overlap = "ended twice";
      }
    }

    List<Long> changeRevisions() {
      return items.stream().filter(i -> i.kind() == WatchItem.Kind.CHANGE).map(WatchItem::revision).toList();
    }
  }

  @BeforeEach
  void start() throws IOException {
    node = (DefaultNode) LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + freePort()).dataDir(dir)
        .consensus(new LocalConsensusProvider()).maxWatchesPerClient(3).start();
    node.ready().join();
    hub = node.watchHub();
  }

  @AfterEach
  void stop() {
    node.shutdownNow();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private long register(String service, String id, int version) {
    return node.registry().register(ServiceInstance.builder(service).id(id).endpoint("10.0.0.1", 9000)
        .metadata("v", Integer.toString(version)).build()).join();
  }

  private Watches.Watch open(String client, String service, long from, Sink sink) throws Watches.Refused {
    return hub.open(client, service, from, Duration.ofMinutes(1), sink);
  }

  @Test
  void watchesOpenedWhileWritesApply_eachSeesEveryChangeOnceInOrder() throws Exception {
    register("greeter", "a", 0);
    CompletableFuture<Void> writes = CompletableFuture.runAsync(() -> {
      for (int i = 1; i <= 1_000; i++) {
        register("greeter", "a", i);
      }
    });
    List<Sink> sinks = new ArrayList<>();
    while (!writes.isDone() && sinks.size() < 100) {
      Sink s = new Sink();
      open("client-" + sinks.size(), "greeter", sinks.size() % 2 == 0 ? 0 : node.registry().revision(), s);
      sinks.add(s);
    }
    writes.join();
    long last = node.registry().revision();
    for (Sink s : sinks) {
      await().atMost(Duration.ofSeconds(10)).until(() -> !s.items.isEmpty() && s.items.get(s.items.size() - 1).revision() == last);
      assertThat(s.items.get(0).kind()).isIn(WatchItem.Kind.SNAPSHOT, WatchItem.Kind.CHANGE, WatchItem.Kind.PROGRESS);
      long expected = s.items.get(0).kind() == WatchItem.Kind.CHANGE ? s.items.get(0).revision() - 1 : s.items.get(0).revision();
      for (long r : s.changeRevisions()) {
        assertThat(r).isEqualTo(++expected);
      }
      assertThat(s.overlap).isNull();
    }
  }

  @Test
  void watchOpenedWhileTheLastWatchOfItsServiceCloses_stillReceivesChanges() throws Exception {
    for (int i = 0; i < 5_000; i++) {
      String service = "svc-" + i;
      Watches.Watch last = open("c1", service, 0, new Sink());
      java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
      CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> {
        try {
          together.await();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
        last.close();
      });
      together.await();
      Watches.Watch opened = open("c2", service, 0, new Sink());
      closing.join();
      assertThat(hub.watching(service)).as("watches of %s that changes reach", service).isEqualTo(1);
      opened.close();
    }
  }

  @Test
  void changesOfOtherServices_reachNoWatchOfThisOne() throws Exception {
    Sink s = new Sink();
    open("c", "greeter", 0, s);
    register("billing", "b", 1);
    long r = register("greeter", "a", 1);
    await().atMost(Duration.ofSeconds(5)).until(() -> s.changeRevisions().contains(r));
    assertThat(s.items).extracting(WatchItem::service).containsOnly("greeter");
    assertThat(s.changeRevisions()).containsExactly(r);
  }

  @Test
  void resumedWatch_replaysWhatFollowsItsRevision_thenProgressAtOnceWhenNothingIsNew() throws Exception {
    long r1 = register("greeter", "a", 1);
    long r2 = register("greeter", "a", 2);
    Sink replay = new Sink();
    open("c", "greeter", r1, replay);
    await().atMost(Duration.ofSeconds(5)).until(() -> !replay.items.isEmpty());
    assertThat(replay.changeRevisions()).containsExactly(r2);

    Sink idle = new Sink();
    open("c", "greeter", r2, idle);
    await().atMost(Duration.ofSeconds(5)).until(() -> !idle.items.isEmpty());
    assertThat(idle.items.get(0).kind()).isEqualTo(WatchItem.Kind.PROGRESS); // the client knows at once it is attached
    assertThat(idle.items.get(0).revision()).isEqualTo(r2);
  }

  @Test
  void idleWatch_getsProgressEveryInterval_atTheBrokersRevision() throws Exception {
    Sink s = new Sink();
    hub.open("c", "greeter", 0, Duration.ofMillis(100), s);
    long other = register("billing", "b", 1);
    await().atMost(Duration.ofSeconds(5)).until(() -> s.items.stream().anyMatch(i -> i.kind() == WatchItem.Kind.PROGRESS && i.revision() >= other));
  }

  @Test
  void revisionNewerThanAnythingCommitted_isRefusedNamingTheBrokersRevision() {
    long r = register("greeter", "a", 1);
    assertThatThrownBy(() -> open("c", "greeter", Long.MAX_VALUE, new Sink())).isInstanceOfSatisfying(Watches.Refused.class, e -> {
      assertThat(e.reason()).isEqualTo(Watches.Refused.Reason.IN_THE_FUTURE);
      assertThat(e.getMessage()).contains("at revision " + r, "from_revision=0");
    });
  }

  @Test
  void clientBeyondItsWatchLimit_isRefusedNamingTheLimit_untilOneCloses() throws Exception {
    List<Watches.Watch> open = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      open.add(open("c", "greeter", 0, new Sink()));
    }
    assertThatThrownBy(() -> open("c", "greeter", 0, new Sink())).isInstanceOfSatisfying(Watches.Refused.class, e -> {
      assertThat(e.reason()).isEqualTo(Watches.Refused.Reason.TOO_MANY_WATCHES);
      assertThat(e.getMessage()).contains("3 watches", "maxWatchesPerClient");
    });
    open("other-client", "greeter", 0, new Sink()); // the limit is per client
    open.get(0).close();
    open("c", "greeter", 0, new Sink());
  }

  @Test
  void watchThatIsNeverReady_isEndedTooFarBehind_andForgotten() throws Exception {
    Sink s = new Sink();
    s.ready.set(false);
    hub.open("c", "greeter", 0, Duration.ofMinutes(1), s);
    for (int i = 0; i <= WatchHub.MAX_QUEUED; i += 500) {
      List<CompletableFuture<Long>> batch = new ArrayList<>();
      for (int j = 0; j < 500; j++) {
        batch.add(node.registry().register(ServiceInstance.builder("greeter").id("a").endpoint("10.0.0.1", 9000)
            .metadata("v", i + "-" + j).build()));
      }
      CompletableFuture.allOf(batch.toArray(CompletableFuture[]::new)).join();
    }
    WatchSink.Ending e = s.ended.get(10, TimeUnit.SECONDS);
    assertThat(e.reason()).isEqualTo(WatchSink.Reason.TOO_FAR_BEHIND);
    assertThat(e.description()).contains("from_revision=" + e.resumeFrom());
    assertThat(s.items).isEmpty();
    assertThat(hub.openWatches()).isZero();
  }

  @Test
  void leave_sendsWhatIsQueuedThenBrokerLeavingThenEnds_andRefusesNewWatches() throws Exception {
    Sink s = new Sink();
    open("c", "greeter", 0, s);
    long r = register("greeter", "a", 1);
    await().atMost(Duration.ofSeconds(5)).until(() -> s.changeRevisions().contains(r));
    hub.leave("broker-1 is shutting down", List.of(HostAndPort.parse("b", "10.0.0.2:5000")), true);
    WatchSink.Ending e = s.ended.get(5, TimeUnit.SECONDS);
    assertThat(e.reason()).isEqualTo(WatchSink.Reason.BROKER_LEAVING);
    WatchItem notice = s.items.get(s.items.size() - 1);
    assertThat(notice.kind()).isEqualTo(WatchItem.Kind.BROKER_LEAVING);
    assertThat(notice.brokers()).extracting(HostAndPort::toString).containsExactly("10.0.0.2:5000");
    assertThat(hub.openWatches()).isZero();
  }
}
