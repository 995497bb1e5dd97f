package io.linkbridge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.grpc.v1.WatchRequest;
import io.linkbridge.spi.LocalConsensusProvider;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Watchers that read nothing while the registry changes fast: the broker holds a bounded queue for
 * each (docs/api.md, "Slow watchers"), ends each with RESOURCE_EXHAUSTED naming the revision to resume
 * from, and every watcher that reads gets every event, in order.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SlowWatcherTest {
  private static final int SLOW = 200;
  private static final int EVENTS = 100_000;
  private static final Pattern RESUME = Pattern.compile("from_revision=(\\d+)");

  @TempDir Path dir;
  private Node node;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (node != null) {
      node.shutdownNow();
    }
  }

  /** One watch stream; reads only when told to. */
  private static final class RawWatch implements ClientResponseObserver<WatchRequest, WatchEvent> {
    /** Checked as they arrive, not kept: the heap measured is the broker's. */
    volatile long changes;
    volatile long lastRevision = -1;
    volatile String gap;
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    final boolean reads;
    volatile ClientCallStreamObserver<WatchRequest> call;

    RawWatch(boolean reads) {
      this.reads = reads;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
      call = requestStream;
      if (!reads) {
        requestStream.disableAutoRequestWithInitial(1); // the first message (the snapshot), then nothing
      }
    }

    void readEverything() {
      call.request(Integer.MAX_VALUE);
    }

    @Override
    public void onNext(WatchEvent e) {
      if (lastRevision < 0) {
        if (e.getType() != WatchEvent.Type.SNAPSHOT) {
          gap = "first event " + e.getType();
        }
        lastRevision = e.getRevision();
        return;
      }
      if (e.getType() == WatchEvent.Type.PROGRESS) {
        return;
      }
      if (e.getRevision() != lastRevision + 1 && gap == null) {
        gap = "revision " + e.getRevision() + " after " + lastRevision;
      }
      lastRevision = e.getRevision();
      changes++;
    }

    @Override
    public void onError(Throwable t) {
      closed.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      closed.complete(Status.OK);
    }
  }

  @Test
  void watchersThatReadNothing_areBoundedAndEndedWithTheRevisionToResumeFrom_readersGetEveryEvent() throws Exception {
    int port = FreePorts.next();
    node = LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + FreePorts.next()).address("127.0.0.1:" + port)
        .dataDir(dir).consensus(new LocalConsensusProvider()).start();
    NodeLeakCheck.track(node);
    node.registry().register(instance(0)).join();
    for (int i = 0; i < 10; i++) { // small client windows: the heap measured below is the broker's, not the clients'
      channels.add(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().flowControlWindow(64 * 1024).build());
    }
    List<RawWatch> slow = new ArrayList<>();
    for (int i = 0; i < SLOW; i++) {
      slow.add(watch(channels.get(i % channels.size()), false));
    }
    ManagedChannel own = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build(); // a client of its own
    channels.add(own);
    RawWatch reader = watch(own, true);
    await().atMost(Duration.ofSeconds(20)).until(() -> slow.stream().allMatch(w -> w.lastRevision > 0) && reader.lastRevision > 0);
    long heapBefore = usedHeapAfterGc();

    long peakGrowth = 0;
    long began = System.nanoTime();
    for (int done = 0; done < EVENTS; ) {
      // 5,000 writes/s, about what a replicated 3-broker cluster commits on this machine (docs/benchmarks.md)
      LockSupport.parkNanos(began + TimeUnit.MILLISECONDS.toNanos(done / 5) - System.nanoTime());
      List<CompletableFuture<Long>> batch = new ArrayList<>();
      for (int i = 0; i < 1000; i++, done++) {
        batch.add(node.registry().register(instance(done + 1)));
      }
      CompletableFuture.allOf(batch.toArray(CompletableFuture[]::new)).join();
      if (done == 9_000) { // every slow watcher holds 9,000 items now, just below its bound
        peakGrowth = Math.max(peakGrowth, usedHeapAfterGc() - heapBefore);
        began = System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(done / 5);
      }
    }
    long last = node.registry().revision();
    peakGrowth = Math.max(peakGrowth, usedHeapAfterGc() - heapBefore);
    System.out.printf("SlowWatcherTest: %d events, broker heap growth at most %d MiB with %d watchers reading nothing%n", EVENTS,
        peakGrowth >> 20, SLOW);
    assertThat(peakGrowth).as("heap growth with %d watchers reading nothing", SLOW).isLessThan(64L << 20);

    await().atMost(Duration.ofSeconds(60)).until(() -> reader.closed.isDone() || reader.lastRevision == last);
    assertThat(reader.closed).as("the reading watch, at revision %d", reader.lastRevision).isNotDone();
    assertThat(reader.gap).isNull();
    assertThat(reader.changes).isEqualTo(EVENTS);

    for (RawWatch w : slow) {
      w.readEverything();
    }
    for (RawWatch w : slow) {
      Status status = w.closed.get(30, TimeUnit.SECONDS);
      assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      Matcher m = RESUME.matcher(status.getDescription());
      assertThat(m.find()).as(status.getDescription()).isTrue();
      assertThat(w.gap).isNull();
      assertThat(Long.parseLong(m.group(1))).as("the revision to resume from is the last one received").isEqualTo(w.lastRevision);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> ((io.linkbridge.internal.DefaultNode) node).watchHub().openWatches() == 1);
  }

  private RawWatch watch(ManagedChannel channel, boolean reads) {
    RawWatch w = new RawWatch(reads);
    DiscoveryServiceGrpc.newStub(channel).watch(WatchRequest.newBuilder().setService("greeter").build(), w);
    return w;
  }

  private static ServiceInstance instance(int i) {
    return ServiceInstance.builder("greeter").id("i-" + (i % 50)).endpoint("10.0.0.1", 9000).metadata("version", Integer.toString(i)).build();
  }

  private static long usedHeapAfterGc() {
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
