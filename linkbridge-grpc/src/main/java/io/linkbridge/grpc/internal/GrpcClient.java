package io.linkbridge.grpc.internal;

import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.linkbridge.BrokerCallException;
import io.linkbridge.HostAndPort;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.Watch;
import io.linkbridge.grpc.v1.DiscoverRequest;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.grpc.v1.GetAlternativesRequest;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.internal.Backoff;
import io.linkbridge.spi.ClientSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The gRPC client: one broker at a time, the next one of the list when it fails. A failed request is
 * retried at once on the next broker, then after jittered, doubling waits from {@code retryInterval}
 * up to {@code maxRetryInterval}, up to {@code maxRetries} (for ever with {@code continuousRetry}).
 * Watch events run on {@code linkbridge-client-callbacks} threads; reconnects and the watches'
 * silence check on {@code linkbridge-client-retries}. Thread-safe.
 */
public final class GrpcClient implements LinkBridgeClient {
  /** A watch stream that brought nothing for this many progress intervals is taken for lost. */
  static final int SILENT_INTERVALS = 3;
  private static final int TRIED_KEPT = 16;

  private final ClientSpec spec;
  /** The client's brokers, then brokers learned from BROKER_LEAVING events; only grows. */
  private final List<HostAndPort> brokers;
  private final AtomicInteger current = new AtomicInteger();
  private final Map<HostAndPort, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Set<WatchSession> watches = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService retries;
  private final ExecutorService callbacks;
  private final ClientInterceptor identity;
  private final long checkPeriodNanos;
  private long lastCheckNanos = System.nanoTime(); // on the retries thread
  private volatile boolean closed;
  /** Test hook: runs in a watch's open() after it decided to start a call, before it starts it. */
  volatile Runnable beforeWatchCall = () -> {};

  public GrpcClient(ClientSpec spec) {
    this.spec = spec;
    this.brokers = new CopyOnWriteArrayList<>(spec.brokers());
    Metadata id = new Metadata();
    id.put(ClientSessionInterceptor.CLIENT_ID, UUID.randomUUID().toString()); // one session per client on each broker
    this.identity = MetadataUtils.newAttachHeadersInterceptor(id);
    this.retries = Executors.newSingleThreadScheduledExecutor(named("linkbridge-client-retries"));
    this.callbacks = CALLBACKS;
    this.checkPeriodNanos = spec.watchProgressInterval().toNanos() / 2;
    retries.scheduleWithFixedDelay(this::checkWatches, checkPeriodNanos, checkPeriodNanos, TimeUnit.NANOSECONDS);
  }

  /**
   * The gRPC callbacks of every client of this JVM (watch events among them), on threads shared as
   * grpc-java shares its default executor: a pool per client made a burst of events to many clients
   * start a thread per client (the last of 1,000 watchers had a shutdown notice 1.4x later). Idle
   * threads end after a minute; a closed client's last callbacks find it closed and do nothing.
   */
  private static final ExecutorService CALLBACKS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
      named("linkbridge-client-callbacks"));

  private static ThreadFactory named(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  ClientSpec spec() {
    return spec;
  }

  ScheduledExecutorService retries() {
    return retries;
  }

  /** The index of the broker in use. */
  int currentIndex() {
    return current.get();
  }

  HostAndPort broker(int index) {
    return brokers.get(index);
  }

  /** After a failure on broker {@code failed}: move to the next one, unless another thread already did. */
  void failedOn(int failed) {
    if (spec.failover().enableAutoFailover()) {
      current.compareAndSet(failed, (failed + 1) % brokers.size());
    }
  }

  /**
   * Broker {@code leaving} announced it shuts down, naming {@code others}: learn the ones the client
   * does not know, and move to the next broker that is not the leaving one (even without auto
   * failover: that broker is going away).
   */
  void moveOff(int leaving, List<String> others) {
    for (String hp : others) {
      try {
        HostAndPort b = HostAndPort.parse("broker", hp);
        if (!brokers.contains(b)) {
          brokers.add(b);
        }
      } catch (IllegalArgumentException e) {
        // a broker's hint we cannot use; our own list still serves
      }
    }
    if (brokers.size() > 1) {
      current.compareAndSet(leaving, (leaving + 1) % brokers.size());
    }
  }

  DiscoveryServiceGrpc.DiscoveryServiceStub asyncStub(int index) {
    return DiscoveryServiceGrpc.newStub(channel(index)).withInterceptors(identity);
  }

  /** Lets a channel in connect backoff try again now: our own backoff decides when to retry. */
  void resetConnectBackoff(int index) {
    ManagedChannel c = channels.get(brokers.get(index));
    if (c != null) {
      c.resetConnectBackoff();
    }
  }

  private ManagedChannel channel(int index) {
    if (closed) {
      throw new LinkBridgeException("client is closed");
    }
    HostAndPort broker = brokers.get(index);
    return channels.computeIfAbsent(broker, b -> BrokerChannels.open(b, callbacks));
  }

  private <T> T call(String what, Function<DiscoveryServiceGrpc.DiscoveryServiceBlockingStub, T> request) {
    int attempts = 0;
    Backoff backoff = null;
    List<String> tried = new ArrayList<>();
    while (true) {
      int index = current.get();
      HostAndPort broker = brokers.get(index);
      try {
        return request.apply(DiscoveryServiceGrpc.newBlockingStub(channel(index))
            .withInterceptors(identity)
            .withDeadlineAfter(spec.callTimeout().toMillis(), TimeUnit.MILLISECONDS));
      } catch (StatusRuntimeException e) {
        Status status = e.getStatus();
        if (tried.size() < TRIED_KEPT) {
          tried.add(broker.toString());
        }
        if (!isBrokerFailure(status)) {
          throw mapped(what, status, tried, e);
        }
        attempts++;
        if (attempts > spec.failover().maxRetries() && !spec.failover().continuousRetry()) {
          throw new BrokerCallException(what + " failed after " + attempts + " attempts (brokers tried: " + String.join(", ", tried)
              + "); the last, " + broker + ", said " + describe(status) + "; check that the brokers run and are reachable, or raise "
              + "FailoverConfig.maxRetries", status.getCode().name(), tried, e);
        }
        failedOn(index);
        if (attempts > 1) {
          if (backoff == null) {
            backoff = new Backoff(spec.failover().retryInterval(), spec.failover().maxRetryInterval());
          }
          LockSupport.parkNanos(backoff.nextDelayNanos());
          if (Thread.interrupted()) {
            Thread.currentThread().interrupt();
            throw new BrokerCallException(what + " interrupted while waiting to retry (brokers tried: " + String.join(", ", tried) + ")",
                Status.Code.CANCELLED.name(), tried, e);
          }
        }
        resetConnectBackoff(current.get());
      }
    }
  }

  static boolean isBrokerFailure(Status status) {
    return switch (status.getCode()) {
      // CANCELLED here is the broker resetting the stream (a shutdown): calls the client cancels never get here
      case UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, UNKNOWN, INTERNAL, CANCELLED -> true;
      default -> false;
    };
  }

  static String describe(Status status) {
    return status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
  }

  private static RuntimeException mapped(String what, Status status, List<String> tried, StatusRuntimeException cause) {
    if (status.getCode() == Status.Code.INVALID_ARGUMENT) {
      return new IllegalArgumentException(status.getDescription(), cause);
    }
    return new BrokerCallException(what + " failed: broker " + tried.get(tried.size() - 1) + " said " + describe(status),
        status.getCode().name(), tried, cause);
  }

  static List<ServiceInstance> fromProto(List<Instance> instances) {
    return instances.stream().map(p -> ProtoMapping.fromProto(p, p.getAgentId())).toList();
  }

  @Override
  public List<ServiceInstance> discover(String service) {
    return fromProto(call("discover " + service, s -> s.discover(DiscoverRequest.newBuilder().setService(service).build())).getInstancesList());
  }

  @Override
  public List<ServiceInstance> alternatives(String service, Set<String> excludeIds) {
    return fromProto(call("alternatives of " + service,
        s -> s.getAlternatives(GetAlternativesRequest.newBuilder().setService(service).addAllExcludeIds(excludeIds).build())).getInstancesList());
  }

  @Override
  public WatchSession watch(String service, Consumer<InstanceEvent> listener, Watch.StateListener states) {
    WatchSession w = new WatchSession(this, service, listener, states, watches::remove);
    watches.add(w);
    w.open();
    return w;
  }

  /** Every half progress interval: ends watch streams that stayed silent, unless this process itself stood still. */
  private void checkWatches() {
    long now = System.nanoTime();
    boolean stalled = now - lastCheckNanos > 4 * checkPeriodNanos; // we were frozen, not the brokers: start the windows again
    lastCheckNanos = now;
    for (WatchSession w : watches) {
      if (stalled) {
        w.heardNow();
      } else {
        w.checkSilence(now);
      }
    }
  }

  @Override
  public String currentBroker() {
    return brokers.get(current.get()).toString();
  }

  boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    closed = true;
    watches.forEach(WatchSession::close);
    retries.shutdownNow();
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
