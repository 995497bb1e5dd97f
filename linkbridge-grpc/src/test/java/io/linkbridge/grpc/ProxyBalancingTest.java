package io.linkbridge.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.ProxyConfig;
import io.linkbridge.ProxyStats;
import io.linkbridge.grpc.ProxyTest.EchoInstance;
import io.linkbridge.spi.LocalConsensusProvider;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The proxy's limits, its least-outstanding choice, outlier ejection and per-service counts, on one broker and two real instances. */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProxyBalancingTest {
  @TempDir Path dir;
  private Node node;
  private ManagedChannel channel;
  private final List<EchoInstance> instances = new ArrayList<>();
  private final List<ClientCall<String, String>> held = new ArrayList<>();

  /** Whether the calls go to the broker's dedicated proxy port (its frame path) instead of its API address. */
  boolean onProxyPort() {
    return false;
  }

  private void start(ProxyConfig proxy) throws IOException {
    int port = FreePorts.next();
    int proxyPort = FreePorts.next();
    io.linkbridge.NodeBuilder builder = LinkBridge.node().id("broker-1").raftAddress("127.0.0.1:" + FreePorts.next())
        .address("127.0.0.1:" + port).dataDir(dir).consensus(new LocalConsensusProvider()).proxy(proxy);
    node = (onProxyPort() ? builder.proxyAddress("127.0.0.1:" + proxyPort) : builder).start();
    NodeLeakCheck.track(node);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", onProxyPort() ? proxyPort : port).usePlaintext().build();
    for (String name : List.of("a", "b")) {
      EchoInstance i = new EchoInstance(name);
      instances.add(i);
      node.registry().register(i.instance("echo")).join();
    }
  }

  @AfterEach
  void stop() throws InterruptedException {
    held.forEach(c -> c.cancel("test over", null));
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (node != null) {
      node.shutdownNow();
    }
    instances.forEach(EchoInstance::close);
  }

  private String unary(String request) {
    return ClientCalls.blockingUnaryCall(channel, ProxyTest.UNARY, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), request);
  }

  /** Opens a call the instance holds open until it is cancelled; returns once it reached an instance. */
  private void hold() {
    int before = calls();
    ClientCall<String, String> call = channel.newCall(ProxyTest.UNARY, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {}, new Metadata());
    call.sendMessage("sleep");
    call.halfClose();
    call.request(1);
    held.add(call);
    await().atMost(Duration.ofSeconds(5)).until(() -> calls() == before + 1);
  }

  private int calls() {
    return instances.stream().mapToInt(i -> i.calls.get()).sum();
  }

  private static Status status(Runnable r) {
    try {
      r.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
    throw new AssertionError("the call succeeded");
  }

  /**
   * Readers that stop reading: each call is bounded by flow control, and once more of them have
   * stalled past {@code stallAge} than {@code stalledBytes} allows, the longest stalled end with
   * RESOURCE_EXHAUSTED naming the limit; a call that reads goes on.
   */
  @Test
  void callsStalledBeyondTheStallLimit_endLongestFirst_aReadingCallGoesOn() throws IOException {
    start(ProxyConfig.DEFAULT.withStallLimit(2 * 2L * (1 << 20), Duration.ofSeconds(1))); // room for 2 stalled calls
    List<java.util.concurrent.atomic.AtomicReference<Status>> ends = stoppedReaders(5);
    java.util.concurrent.atomic.AtomicLong read = new java.util.concurrent.atomic.AtomicLong();
    ClientCall<String, String> reader = channel.newCall(ProxyTest.FLOOD, CallOptions.DEFAULT);
    reader.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(String message) {
        read.incrementAndGet();
        reader.request(1);
      }
    }, new Metadata());
    reader.sendMessage("go");
    reader.halfClose();
    reader.request(1);
    held.add(reader);

    // the broker ends 3 of the 5 stalled calls: their instances' side is cancelled at once
    await().atMost(Duration.ofSeconds(15)).until(() -> floodsCancelled() == 3);
    long readBefore = read.get();
    await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> floodsCancelled() == 3);
    assertThat(read.get()).as("the reading call goes on").isGreaterThan(readBefore);
    // a caller that reads again gets what was on its way, then the status; the 2 calls kept go on streaming
    held.subList(0, 5).forEach(c -> c.request(Integer.MAX_VALUE));
    await().atMost(Duration.ofSeconds(10)).until(() -> ends.stream().filter(e -> e.get() != null).count() == 3);
    for (var e : ends) {
      if (e.get() != null) {
        assertThat(e.get().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(e.get().getDescription()).contains("the caller has not read its last message for").contains("ProxyConfig stalledBytes 4 MiB");
      }
    }
    await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> ends.stream().filter(e -> e.get() != null).count() == 3);
  }

  /**
   * A call the stall bound ended lets go of what the broker held for its caller: reading again, the
   * caller gets what its own window held and the rest of the message it was in, then
   * RESOURCE_EXHAUSTED, not the megabyte of messages the instance had sent meanwhile.
   */
  @Test
  void aCallEndedByTheStallBound_dropsWhatItsCallerHadNotRead() throws Exception {
    start(ProxyConfig.DEFAULT.withStallLimit(1 << 20, Duration.ofSeconds(1))); // no room for any stalled call
    ManagedChannel narrow = NettyChannelBuilder.forTarget(channel.authority()).usePlaintext().flowControlWindow(64 * 1024).build();
    try {
      java.util.concurrent.atomic.AtomicInteger got = new java.util.concurrent.atomic.AtomicInteger();
      java.util.concurrent.atomic.AtomicReference<Status> end = stoppedReader(narrow, got);
      ClientCall<String, String> call = held.get(held.size() - 1);
      await().atMost(Duration.ofSeconds(15)).until(() -> floodsCancelled() == 1);
      int sent = instances.stream().mapToInt(i -> i.flooded.get()).sum();
      call.request(Integer.MAX_VALUE);
      await().atMost(Duration.ofSeconds(10)).until(() -> end.get() != null);
      assertThat(end.get().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(end.get().getDescription()).contains("the caller has not read its last message for");
      assertThat(sent).as("64 kB messages the instance sent").isGreaterThanOrEqualTo(12);
      assertThat(got.get()).as("64 kB messages the caller got").isLessThanOrEqualTo(5);
    } finally {
      narrow.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * A call the broker ended still holds what its caller has not read: it counts against maxCalls
   * until its stream to the caller is done.
   */
  @Test
  void aCallEndedButNotReadByItsCaller_countsAgainstMaxCallsUntilTheCallerReads() throws IOException {
    start(ProxyConfig.DEFAULT.withMaxCalls(2).withStallLimit(1 << 20, Duration.ofSeconds(1))); // no room for any stalled call
    List<java.util.concurrent.atomic.AtomicReference<Status>> ends = stoppedReaders(2);
    await().atMost(Duration.ofSeconds(15)).until(() -> floodsCancelled() == 2); // both ended by the stall bound, unread
    assertThat(status(() -> unary("one more"))).extracting(Status::getCode).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    held.forEach(c -> c.request(Integer.MAX_VALUE)); // the callers read what was on its way, and the trailers
    await().atMost(Duration.ofSeconds(10)).until(() -> ends.stream().allMatch(e -> e.get() != null));
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(unary("now")).endsWith(":now"));
  }

  /** {@code n} FLOOD calls that read one message and then no more; each one's status once it ends for its caller. */
  private List<java.util.concurrent.atomic.AtomicReference<Status>> stoppedReaders(int n) {
    List<java.util.concurrent.atomic.AtomicReference<Status>> ends = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ends.add(stoppedReader(channel, new java.util.concurrent.atomic.AtomicInteger()));
    }
    return ends;
  }

  /** A FLOOD call on {@code on} that reads one message and then no more (kept in {@link #held}), counting in {@code got} what it receives; its status once it ends. */
  private java.util.concurrent.atomic.AtomicReference<Status> stoppedReader(Channel on, java.util.concurrent.atomic.AtomicInteger got) {
    java.util.concurrent.atomic.AtomicReference<Status> end = new java.util.concurrent.atomic.AtomicReference<>();
    ClientCall<String, String> call = on.newCall(ProxyTest.FLOOD, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(String message) {
        got.incrementAndGet();
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        end.set(status);
      }
    }, new Metadata());
    call.sendMessage("go");
    call.halfClose();
    call.request(1); // one message, then it reads no more
    held.add(call);
    return end;
  }

  private long floodsCancelled() {
    return instances.stream().mapToLong(i -> i.cancelled.stream().filter("flood"::equals).count()).sum();
  }

  @Test
  void beyondTheBrokersLimit_andWhenEveryInstanceIsAtItsOwn_callsAreRefusedNamingTheLimit() throws IOException {
    start(ProxyConfig.DEFAULT.withMaxCalls(3).withMaxCallsPerInstance(1));
    hold();
    hold(); // one per instance: both at their limit
    Status perInstance = status(() -> unary("x"));
    assertThat(perInstance.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(perInstance.getDescription()).contains("maxCallsPerInstance").contains("test.Echo").contains("1 calls");

    held.remove(0).cancel("done", null); // one instance free again
    await().atMost(Duration.ofSeconds(5)).ignoreExceptions().until(() -> unary("y").endsWith(":y"));

    node.shutdownNow(); // now the broker's own limit, with room on the instances
    instances.forEach(EchoInstance::close);
    instances.clear();
    held.forEach(c -> c.cancel("test over", null));
    held.clear();
    channel.shutdownNow();
    node = null;
    start(ProxyConfig.DEFAULT.withMaxCalls(2));
    hold();
    hold();
    Status perBroker = status(() -> unary("z"));
    assertThat(perBroker.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(perBroker.getDescription()).contains("maxCalls").contains("broker broker-1").contains("carries 2");
    held.remove(0).cancel("done", null);
    await().atMost(Duration.ofSeconds(5)).ignoreExceptions().until(() -> unary("w").endsWith(":w"));
    assertThat(node.registry().revision()).isPositive(); // the broker's own services kept working meanwhile
  }

  @Test
  void aBurstOfCalls_neverPutsMoreOnAnInstanceThanItsLimit_andEveryRefusedCallIsReleased() throws Exception {
    start(ProxyConfig.DEFAULT.withMaxCallsPerInstance(5));
    List<java.util.concurrent.CompletableFuture<Status>> ends = new ArrayList<>();
    for (int i = 0; i < 60; i++) { // arrive together: the broker picks for them on several threads at once
      java.util.concurrent.CompletableFuture<Status> end = new java.util.concurrent.CompletableFuture<>();
      ClientCall<String, String> call = channel.newCall(ProxyTest.UNARY, CallOptions.DEFAULT);
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onClose(Status status, Metadata trailers) {
          end.complete(status);
        }
      }, new Metadata());
      call.sendMessage("sleep");
      call.halfClose();
      call.request(1);
      held.add(call);
      ends.add(end);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> ends.stream().filter(java.util.concurrent.CompletableFuture::isDone).count() == 50);
    assertThat(ends).filteredOn(java.util.concurrent.CompletableFuture::isDone)
        .allSatisfy(e -> assertThat(e.join().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    await().atMost(Duration.ofSeconds(5)).until(() -> calls() == 10);
    assertThat(instances).allSatisfy(i -> assertThat(i.calls.get()).isEqualTo(5));

    held.forEach(c -> c.cancel("done", null)); // every slot comes back: the instances take calls again
    held.clear();
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(node.proxyStats().get(0).inFlight()).isZero());
    for (int i = 0; i < 10; i++) {
      hold();
    }
    assertThat(instances).allSatisfy(i -> assertThat(i.calls.get()).isEqualTo(10));
  }

  @Test
  void leastOutstanding_sendsNewCallsToTheInstanceWithFewerCallsInFlight() throws IOException {
    start(ProxyConfig.DEFAULT.withBalancing(ProxyConfig.Balancing.LEAST_OUTSTANDING));
    hold();
    hold();
    hold(); // 2 on one instance, 1 on the other
    EchoInstance busy = instances.get(0).calls.get() == 2 ? instances.get(0) : instances.get(1);
    EchoInstance idle = busy == instances.get(0) ? instances.get(1) : instances.get(0);
    assertThat(busy.calls.get()).isEqualTo(2);
    List<String> by = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      by.add(unary("l").substring(0, 1));
    }
    assertThat(by).as("20 short calls, one at a time").containsOnly(idle.name);
  }

  @Test
  void anInstanceThatKeepsFailing_isSetAside_thenTakesCallsAgain_andTheCountsSayWhatHappened() throws IOException {
    start(ProxyConfig.DEFAULT.withEjection(3, Duration.ofSeconds(3)));
    EchoInstance failing = instances.get(0);
    failing.failWith = Status.INTERNAL; // an error a caller can provoke with what it sends: not held against the instance
    List<String> by = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      try {
        by.add(unary("i" + i).substring(0, 1));
      } catch (StatusRuntimeException e) {
        by.add("INTERNAL");
      }
    }
    assertThat(by).filteredOn("INTERNAL"::equals).hasSize(10);

    failing.failWith = Status.UNAVAILABLE;
    int failures = 0;
    List<String> answers = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      try {
        answers.add(unary("e" + i).substring(0, 1));
      } catch (StatusRuntimeException e) {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE); // its own answer, passed on unchanged, never retried
        failures++;
      }
    }
    assertThat(failures).as("calls that reached the failing instance before it was set aside").isEqualTo(3);
    assertThat(answers).hasSize(17).containsOnly(instances.get(1).name);

    failing.failWith = null; // healthy again: back in turn once its 3 s are over
    await().atMost(Duration.ofSeconds(10)).until(() -> unary("back").startsWith(failing.name));

    instances.get(1).failWith = Status.UNAVAILABLE;
    failing.failWith = Status.UNAVAILABLE; // both set aside in the end: calls still go to them rather than nowhere
    for (int i = 0; i < 10; i++) {
      assertThat(status(() -> unary("u")).getDescription()).contains("fails");
    }

    ProxyStats echo = node.proxyStats().stream().filter(s -> s.grpcService().equals("test.Echo")).findFirst().orElseThrow();
    assertThat(echo.calls()).isGreaterThanOrEqualTo(51);
    assertThat(echo.failures()).isGreaterThanOrEqualTo(23).isLessThan(echo.calls());
    assertThat(echo.inFlight()).isZero();
    assertThat(echo.p50()).isPositive();
    assertThat(echo.p99()).isGreaterThanOrEqualTo(echo.p50());
    assertThat(echo.max()).isGreaterThanOrEqualTo(echo.p99());
    assertThatThrownBy(() -> ProxyConfig.DEFAULT.withEjection(-1, Duration.ofSeconds(1))).hasMessageContaining("ejectAfterFailures")
        .hasMessageContaining("-1");
    assertThatThrownBy(() -> ProxyConfig.DEFAULT.withStallLimit(1000, Duration.ofSeconds(10))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("proxy stalledBytes must be 0 (a quarter of the heap) or in 1 MiB..1 TiB (1048576..1099511627776), was 1000");
    assertThatThrownBy(() -> ProxyConfig.DEFAULT.withStallLimit(0, Duration.ofMillis(500))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("proxy stallAge must be in 1s..1h, was 500ms");
    assertThat(ProxyConfig.DEFAULT.stalledBytesOrDefault()).isEqualTo(Runtime.getRuntime().maxMemory() / 4);
  }
}
