package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.linkbridge.BrokerCallException;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Watch;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.grpc.v1.WatchRequest;
import io.linkbridge.internal.Backoff;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client's watch of one service. It asks its broker for a PROGRESS event every progress interval,
 * so a stream silent for {@link GrpcClient#SILENT_INTERVALS} intervals is a lost broker (a new stream
 * gets the call timeout for its first message if that is longer: it may have to connect first). When a stream
 * fails it reopens on the next broker with the last revision it delivered, so the listener sees every
 * change once, in order; if that broker does not have the revision (OUT_OF_RANGE) it starts over with
 * a fresh SNAPSHOT. A broker that announces it leaves (BROKER_LEAVING) is left at once, which is no
 * failure. Thread-safe: {@code lock} guards the call in flight and the retry state and is never held
 * while a listener runs; listeners run under {@code delivery}, one call at a time.
 */
final class WatchSession implements Watch {
  private static final Logger log = LoggerFactory.getLogger(WatchSession.class);

  private final GrpcClient client;
  private final String service;
  private final Consumer<InstanceEvent> listener;
  private final StateListener states;
  private final Consumer<WatchSession> onClose;
  private final long silenceNanos;
  private final long firstAnswerNanos;
  private final Object lock = new Object();
  private final Object delivery = new Object();
  private volatile long lastRevision;
  private volatile State state = State.CONNECTING;
  private volatile boolean closed; // written under lock
  // under lock:
  private Attempt attempt;
  private ScheduledFuture<?> pendingRetry;
  private int failures;
  private final List<String> tried = new ArrayList<>();
  private final Backoff backoff;
  private long transitions;
  // under delivery:
  private long notified;

  WatchSession(GrpcClient client, String service, Consumer<InstanceEvent> listener, StateListener states, Consumer<WatchSession> onClose) {
    this.client = client;
    this.service = service;
    this.listener = listener;
    this.states = states;
    this.onClose = onClose;
    this.silenceNanos = client.spec().watchProgressInterval().toNanos() * GrpcClient.SILENT_INTERVALS;
    this.firstAnswerNanos = Math.max(silenceNanos, client.spec().callTimeout().toNanos()); // a new stream also connects
    this.backoff = new Backoff(client.spec().failover().retryInterval(), client.spec().failover().maxRetryInterval());
  }

  /** One stream to one broker; its callbacks count only while it is the watch's current attempt. */
  private final class Attempt implements ClientResponseObserver<WatchRequest, WatchEvent> {
    final int broker;
    volatile long lastHeardNanos = System.nanoTime();
    volatile boolean heard;
    private ClientCallStreamObserver<WatchRequest> call;

    Attempt(int broker) {
      this.broker = broker;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
      call = requestStream; // runs inside open(), under lock
    }

    @Override
    public void onNext(WatchEvent e) {
      lastHeardNanos = System.nanoTime();
      received(this, e);
    }

    @Override
    public void onError(Throwable t) {
      ended(this, Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      ended(this, Status.UNAVAILABLE.withDescription("broker " + client.broker(broker) + " ended the watch"));
    }

    void cancel(String why) {
      call.cancel(why, null);
    }
  }

  /** Opens a stream to the client's current broker from the last revision, unless closed. */
  void open() {
    synchronized (lock) {
      pendingRetry = null;
      if (closed || client.isClosed()) {
        return;
      }
      client.beforeWatchCall.run();
      int broker = client.currentIndex();
      if (failures > 0) {
        client.resetConnectBackoff(broker);
      }
      Attempt a = new Attempt(broker);
      WatchRequest request = WatchRequest.newBuilder().setService(service).setFromRevision(lastRevision)
          .setProgressIntervalMillis(client.spec().watchProgressInterval().toMillis()).build();
      try {
        client.asyncStub(broker).watch(request, a);
        attempt = a;
      } catch (LinkBridgeException clientClosed) {
        // the client closed meanwhile: its close() closes this watch
      }
    }
  }

  private boolean isCurrent(Attempt a) {
    synchronized (lock) {
      return attempt == a && !closed;
    }
  }

  private void received(Attempt a, WatchEvent e) {
    if (!a.heard) {
      a.heard = true;
      Transition t = null;
      synchronized (lock) {
        if (attempt != a || closed) {
          return;
        }
        failures = 0;
        tried.clear();
        backoff.reset();
        if (state != State.WATCHING) {
          t = transition(State.WATCHING, null);
        }
      }
      notify(t);
    }
    switch (e.getType()) {
      case PROGRESS -> progress(a, e.getRevision());
      case BROKER_LEAVING -> leaving(a, e.getBrokersList());
      default -> deliver(a, e);
    }
  }

  private void progress(Attempt a, long revision) {
    synchronized (delivery) {
      if (revision > lastRevision && isCurrent(a)) {
        lastRevision = revision; // nothing changed up to here: a reconnect resumes from it
      }
    }
  }

  private void leaving(Attempt a, List<String> others) {
    Transition t;
    synchronized (lock) {
      if (attempt != a || closed) {
        return;
      }
      attempt = null;
      log.info("Broker {} is leaving: watch of {} moves to another broker from revision {}", client.broker(a.broker), service, lastRevision);
      a.cancel("broker is leaving; the watch moved to another broker");
      client.moveOff(a.broker, others);
      t = transition(State.RECONNECTING, null);
      open(); // at once, and no failure: the broker asked us to move
    }
    notify(t);
  }

  private void deliver(Attempt a, WatchEvent e) {
    InstanceEvent event = switch (e.getType()) {
      case SNAPSHOT -> new InstanceEvent(InstanceEvent.Type.SNAPSHOT, e.getRevision(), null, GrpcClient.fromProto(e.getSnapshotList()));
      case ADDED -> single(InstanceEvent.Type.ADDED, e);
      case UPDATED -> single(InstanceEvent.Type.UPDATED, e);
      case REMOVED -> single(InstanceEvent.Type.REMOVED, e);
      case SHUTDOWN_NOTICE -> new InstanceEvent(InstanceEvent.Type.SHUTDOWN_NOTICE, e.getRevision(),
          ProtoMapping.fromProto(e.getInstance(), e.getInstance().getAgentId()), GrpcClient.fromProto(e.getAlternativesList()));
      default -> null; // a type this client does not know yet
    };
    if (event == null) {
      return;
    }
    synchronized (delivery) {
      if (!isCurrent(a) || (e.getType() != WatchEvent.Type.SNAPSHOT && e.getRevision() <= lastRevision)) {
        return; // a stream we left, or already delivered through another broker
      }
      lastRevision = e.getRevision();
      try {
        listener.accept(event);
      } catch (RuntimeException ex) {
        log.error("Watch listener of {} threw on {}; it keeps receiving events", service, event, ex);
      }
    }
  }

  private static InstanceEvent single(InstanceEvent.Type type, WatchEvent e) {
    return new InstanceEvent(type, e.getRevision(), ProtoMapping.fromProto(e.getInstance(), e.getInstance().getAgentId()), List.of());
  }

  /** Called by the client every half progress interval. */
  void checkSilence(long nowNanos) {
    Attempt a;
    synchronized (lock) {
      a = attempt;
    }
    long window = a == null || a.heard ? silenceNanos : firstAnswerNanos;
    if (a != null && nowNanos - a.lastHeardNanos > window) {
      ended(a, Status.UNAVAILABLE.withDescription("broker " + client.broker(a.broker) + " sent nothing for "
          + TimeUnit.NANOSECONDS.toMillis(window) + "ms (" + (a.heard ? GrpcClient.SILENT_INTERVALS + " progress intervals" : "the call timeout")
          + "): taken for lost"));
      a.cancel("no message within " + GrpcClient.SILENT_INTERVALS + " progress intervals");
    }
  }

  /** This process stood still: the silence of the stream is ours, not the broker's. */
  void heardNow() {
    Attempt a;
    synchronized (lock) {
      a = attempt;
    }
    if (a != null) {
      a.lastHeardNanos = System.nanoTime();
    }
  }

  private void ended(Attempt a, Status status) {
    Transition t;
    boolean gaveUp = false;
    synchronized (lock) {
      if (attempt != a || closed) {
        return; // a stream we already left (leaving, silence) or closed
      }
      attempt = null;
      String broker = client.broker(a.broker).toString();
      if (status.getCode() == Status.Code.OUT_OF_RANGE && lastRevision > 0) {
        log.info("Broker {} has no revision {} for the watch of {} ({}); starting over with a snapshot", broker, lastRevision, service,
            status.getDescription());
        lastRevision = 0;
        t = transition(State.RECONNECTING, null);
        schedule(0);
      } else {
        if (tried.size() < 16) {
          tried.add(broker);
        }
        var failover = client.spec().failover();
        failures++;
        boolean retryable = GrpcClient.isBrokerFailure(status);
        if (!retryable || (failures > failover.maxRetries() + 1 && !failover.continuousRetry())) {
          String why = retryable
              ? "watch of " + service + " gave up after " + failures + " failed attempts (brokers tried: " + String.join(", ", tried)
                  + "); the last said " + GrpcClient.describe(status) + "; watch again, or set FailoverConfig.continuousRetry"
              : "watch of " + service + " was refused by broker " + broker + ": " + GrpcClient.describe(status);
          log.error(why);
          closed = true;
          gaveUp = true;
          t = transition(State.CLOSED, new BrokerCallException(why, status.getCode().name(), tried, status.asRuntimeException()));
        } else {
          LinkBridgeException cause = new BrokerCallException("watch of " + service + ": broker " + broker + " failed: "
              + GrpcClient.describe(status) + " (brokers tried: " + String.join(", ", tried) + "); reconnecting from revision " + lastRevision,
              status.getCode().name(), tried, status.asRuntimeException());
          log.debug("{}", cause.getMessage());
          client.failedOn(a.broker);
          t = transition(State.RECONNECTING, cause);
          schedule(failures == 1 ? 0 : backoff.nextDelayMillis());
        }
      }
    }
    notify(t);
    if (gaveUp) {
      onClose.accept(this);
    }
  }

  private void schedule(long delayMillis) {
    try {
      pendingRetry = client.retries().schedule(this::open, delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // the client closed
    }
  }

  /** Tries again at once if the watch waits to reconnect (a resolver's refresh). */
  void retryNow() {
    synchronized (lock) {
      if (pendingRetry != null && pendingRetry.cancel(false)) {
        open();
      }
    }
  }

  private record Transition(long seq, State state, LinkBridgeException cause) {}

  /** Under lock: the new state, numbered so that listeners never see an older one after a newer one. */
  private Transition transition(State next, LinkBridgeException cause) {
    state = next;
    return new Transition(++transitions, next, cause);
  }

  private void notify(Transition t) {
    if (t == null) {
      return;
    }
    synchronized (delivery) {
      if (t.seq <= notified || (closed && t.state != State.CLOSED)) {
        return;
      }
      notified = t.seq;
      try {
        states.onStateChanged(t.state, t.cause);
      } catch (RuntimeException ex) {
        log.error("Watch state listener of {} threw on {}", service, t.state, ex);
      }
    }
  }

  @Override
  public long lastRevision() {
    return lastRevision;
  }

  @Override
  public State state() {
    return state;
  }

  @Override
  public void close() {
    Attempt a;
    ScheduledFuture<?> retry;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      state = State.CLOSED;
      a = attempt;
      attempt = null;
      retry = pendingRetry;
      pendingRetry = null;
    }
    if (retry != null) {
      retry.cancel(false);
    }
    if (a != null) {
      a.cancel("watch closed");
    }
    synchronized (delivery) { // waits for a listener call in progress: none starts after this
      notified = Long.MAX_VALUE; // a user's close is not reported back
    }
    onClose.accept(this);
  }

  @Override
  public String toString() {
    return "Watch{" + service + ", " + state + ", revision " + lastRevision + "}";
  }
}
