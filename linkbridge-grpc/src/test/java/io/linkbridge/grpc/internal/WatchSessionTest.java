package io.linkbridge.grpc.internal;

import static io.linkbridge.grpc.internal.FakeDiscoveryBroker.added;
import static io.linkbridge.grpc.internal.FakeDiscoveryBroker.instance;
import static io.linkbridge.grpc.internal.FakeDiscoveryBroker.leaving;
import static io.linkbridge.grpc.internal.FakeDiscoveryBroker.progress;
import static io.linkbridge.grpc.internal.FakeDiscoveryBroker.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.linkbridge.BrokerCallException;
import io.linkbridge.FailoverConfig;
import io.linkbridge.HostAndPort;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Watch;
import io.linkbridge.spi.ClientSpec;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The client's watch against scripted brokers speaking the watch protocol (PROGRESS, BROKER_LEAVING). */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WatchSessionTest {
  static final Duration PROGRESS = Duration.ofMillis(200);

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final List<InstanceEvent> events = new CopyOnWriteArrayList<>();
  private final List<String> states = new CopyOnWriteArrayList<>();
  private final AtomicReference<LinkBridgeException> cause = new AtomicReference<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  private FakeDiscoveryBroker broker() {
    FakeDiscoveryBroker b = new FakeDiscoveryBroker();
    closeables.add(0, b);
    return b;
  }

  private GrpcClient client(FailoverConfig failover, String... brokers) {
    GrpcClient c = new GrpcClient(new ClientSpec(List.of(brokers).stream().map(b -> HostAndPort.parse("broker", b)).toList(), failover,
        Duration.ofSeconds(2), PROGRESS));
    closeables.add(0, c);
    return c;
  }

  private WatchSession watch(GrpcClient client) {
    return client.watch("greeter", events::add, (state, why) -> {
      states.add(state.name());
      if (why != null) {
        cause.set(why);
      }
    });
  }

  private static final FailoverConfig NO_RETRY = FailoverConfig.builder().retryInterval(Duration.ofSeconds(5)).maxRetries(0).build();

  @Test
  void progress_advancesTheRevisionWithoutCallingTheListener_andMarksTheWatchAlive() {
    FakeDiscoveryBroker a = broker();
    a.onWatch = (b, c) -> c.send(snapshot(5, instance("g1"))).send(progress(9));
    WatchSession w = watch(client(FailoverConfig.DEFAULT, a.address()));

    await().atMost(Duration.ofSeconds(5)).until(() -> w.lastRevision() == 9);
    assertThat(events).extracting(InstanceEvent::type).containsExactly(InstanceEvent.Type.SNAPSHOT);
    assertThat(w.state()).isEqualTo(Watch.State.WATCHING);
    assertThat(a.last().request.getProgressIntervalMillis()).isEqualTo(PROGRESS.toMillis());
  }

  @Test
  void brokerSilentForThreeProgressIntervals_watchReopensOnTheNextBrokerFromItsLastRevision() {
    FakeDiscoveryBroker a = broker();
    FakeDiscoveryBroker b = broker();
    a.onWatch = (x, c) -> c.send(snapshot(5, instance("g1"))).send(added(6, "g2")); // then nothing: frozen
    b.onWatch = (x, c) -> c.send(added(7, "g3"));
    WatchSession w = watch(client(FailoverConfig.DEFAULT, a.address(), b.address()));
    await().atMost(Duration.ofSeconds(5)).until(() -> w.lastRevision() == 6);
    long silentFrom = System.nanoTime();

    await().atMost(Duration.ofSeconds(5)).until(() -> w.lastRevision() == 7);
    Duration moved = Duration.ofNanos(System.nanoTime() - silentFrom);

    assertThat(b.last().request.getFromRevision()).isEqualTo(6);
    assertThat(a.last().cancelled).isTrue();
    assertThat(moved).isLessThan(PROGRESS.multipliedBy(GrpcClient.SILENT_INTERVALS).plusSeconds(2)); // the silence, a check, a connect
    assertThat(events).extracting(InstanceEvent::revision).containsExactly(5L, 6L, 7L);
    assertThat(states).containsExactly("WATCHING", "RECONNECTING", "WATCHING");
  }

  @Test
  void brokerLeaving_watchMovesAtOnceToAnotherBroker_fromItsLastRevision_countedAsNoFailure() {
    FakeDiscoveryBroker a = broker();
    FakeDiscoveryBroker b = broker();
    // Each broker sends one new event, then leaves and ends the stream: with maxRetries 0 and a 5s
    // retry interval, one failure would end the watch and a second attempt would wait 5s.
    a.onWatch = (x, c) -> moveOn(c, x.watches.size() + b.watches.size(), b.address());
    b.onWatch = (x, c) -> moveOn(c, a.watches.size() + x.watches.size(), a.address());
    WatchSession w = watch(client(NO_RETRY, a.address(), b.address()));

    await().atMost(Duration.ofSeconds(3)).until(() -> events.size() >= 10);

    assertThat(w.state()).isNotEqualTo(Watch.State.CLOSED);
    List<Long> revisions = events.stream().map(InstanceEvent::revision).toList();
    for (int i = 0; i < revisions.size(); i++) {
      assertThat(revisions.get(i)).isEqualTo(i + 1L); // none lost, none repeated
    }
    assertThat(a.watches.get(1).request.getFromRevision()).isEqualTo(2); // a's second stream resumes after b's event
    assertThat(cause.get()).isNull();
  }

  private static void moveOn(FakeDiscoveryBroker.WatchCall c, int n, String other) {
    c.send(n == 1 ? snapshot(1) : added(n, "g" + n)).send(leaving(other));
    c.fail(Status.UNAVAILABLE.withDescription("broker shut down"));
  }

  @Test
  void noBrokerReachable_defaultFailover_watchGivesUpAndTellsItsListenerNamingTheBrokers() {
    String one = "127.0.0.1:" + FreePorts.next();
    String two = "127.0.0.1:" + FreePorts.next();
    FailoverConfig failover = FailoverConfig.builder().retryInterval(Duration.ofMillis(20)).build(); // default path: maxRetries 3, no continuous retry
    WatchSession w = watch(client(failover, one, two));

    await().atMost(Duration.ofSeconds(10)).until(() -> w.state() == Watch.State.CLOSED);

    assertThat(states).startsWith("RECONNECTING").endsWith("CLOSED");
    assertThat(cause.get()).isInstanceOf(BrokerCallException.class).hasMessageContaining(one).hasMessageContaining(two)
        .hasMessageContaining("gave up");
    assertThat(((BrokerCallException) cause.get()).status()).isEqualTo("UNAVAILABLE");
    assertThat(((BrokerCallException) cause.get()).brokersTried()).contains(one, two);
  }

  @Test
  void closeWhileTheWatchStartsACall_leavesNoLiveCall() {
    FakeDiscoveryBroker a = broker();
    GrpcClient client = client(FailoverConfig.DEFAULT, a.address());
    AtomicReference<WatchSession> session = new AtomicReference<>();
    client.beforeWatchCall = () -> { // another thread closes the watch just as open() starts its call
      if (session.get() == null) {
        return;
      }
      Thread closer = new Thread(() -> session.get().close(), "test-closer");
      closer.start();
      try {
        closer.join(200); // with the guard, close() waits for open() to finish; without it, it ran already
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    session.set(watch(client));
    await().atMost(Duration.ofSeconds(5)).until(() -> a.watches.size() == 1);
    a.watches.get(0).fail(Status.UNAVAILABLE); // the watch reopens on the retry thread, and the closer strikes

    await().atMost(Duration.ofSeconds(5)).until(() -> session.get().state() == Watch.State.CLOSED);
    // the second call is cancelled (or never reaches the broker): none stays open
    await().during(Duration.ofMillis(700)).atMost(Duration.ofSeconds(5)).until(() -> a.live() == 0);
    assertThat(a.watches).hasSizeBetween(1, 2);
  }
}
