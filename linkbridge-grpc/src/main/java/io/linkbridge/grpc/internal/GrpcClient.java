package io.linkbridge.grpc.internal;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
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
import io.linkbridge.spi.ClientSpec;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The gRPC client: one broker at a time, the next one of the list when it fails. A failed request is
 * retried at once on the next broker, then every {@code retryInterval}, up to {@code maxRetries}
 * (for ever with {@code continuousRetry}).
 */
public final class GrpcClient implements LinkBridgeClient {
  private final ClientSpec spec;
  private final AtomicInteger current = new AtomicInteger();
  private final Map<HostAndPort, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Set<WatchSession> watches = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService retries;
  private final Metadata identity = new Metadata();
  private volatile boolean closed;

  public GrpcClient(ClientSpec spec) {
    this.spec = spec;
    identity.put(ClientSessionInterceptor.CLIENT_ID, UUID.randomUUID().toString()); // one session per client on each broker
    this.retries = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "linkbridge-client-retries");
      t.setDaemon(true);
      return t;
    });
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

  /** After a failure on broker {@code failed}: move to the next one, unless another thread already did. */
  void failedOn(int failed) {
    if (spec.failover().enableAutoFailover()) {
      current.compareAndSet(failed, (failed + 1) % spec.brokers().size());
    }
  }

  DiscoveryServiceGrpc.DiscoveryServiceStub asyncStub(int index) {
    return DiscoveryServiceGrpc.newStub(channel(index));
  }

  private ManagedChannel channel(int index) {
    if (closed) {
      throw new LinkBridgeException("client is closed");
    }
    HostAndPort broker = spec.brokers().get(index);
    return channels.computeIfAbsent(broker, b -> NettyChannelBuilder.forAddress(b.host(), b.port()).usePlaintext()
        .intercept(MetadataUtils.newAttachHeadersInterceptor(identity)).build());
  }

  private <T> T call(String what, Function<DiscoveryServiceGrpc.DiscoveryServiceBlockingStub, T> request) {
    int attempts = 0;
    while (true) {
      int index = current.get();
      try {
        return request.apply(DiscoveryServiceGrpc.newBlockingStub(channel(index)).withDeadlineAfter(spec.callTimeout().toMillis(), TimeUnit.MILLISECONDS));
      } catch (StatusRuntimeException e) {
        Status status = e.getStatus();
        if (!isBrokerFailure(status)) {
          throw mapped(what, status);
        }
        attempts++;
        if (attempts > spec.failover().maxRetries() && !spec.failover().continuousRetry()) {
          throw new LinkBridgeException(what + " failed after " + attempts + " attempts; last broker " + spec.brokers().get(index) + " said "
              + status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription()));
        }
        failedOn(index);
        if (attempts > 1) {
          LockSupport.parkNanos(spec.failover().retryInterval().toNanos());
        }
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

  private static RuntimeException mapped(String what, Status status) {
    if (status.getCode() == Status.Code.INVALID_ARGUMENT) {
      return new IllegalArgumentException(status.getDescription());
    }
    return new LinkBridgeException(what + " failed: " + status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription()));
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
  public Watch watch(String service, Consumer<InstanceEvent> listener) {
    WatchSession w = new WatchSession(this, service, listener, watches::remove);
    watches.add(w);
    w.open();
    return w;
  }

  @Override
  public String currentBroker() {
    return spec.brokers().get(current.get()).toString();
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
