package io.linkbridge.grpc.internal;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.linkbridge.grpc.v1.DiscoverRequest;
import io.linkbridge.grpc.v1.DiscoverResponse;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.grpc.v1.WatchRequest;
import io.linkbridge.testing.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

/**
 * A broker's discovery API that a test scripts: it records every watch call and lets the test send
 * events on it, end it or stay silent; Discover answers what {@link #discover} says.
 */
final class FakeDiscoveryBroker implements AutoCloseable {
  /** One watch stream the broker holds. */
  static final class WatchCall {
    final WatchRequest request;
    private final ServerCallStreamObserver<WatchEvent> out;
    /** Cancelled by the client, or ended by the broker. */
    volatile boolean cancelled;

    WatchCall(WatchRequest request, ServerCallStreamObserver<WatchEvent> out) {
      this.request = request;
      this.out = out;
      out.setOnCancelHandler(() -> cancelled = true);
    }

    synchronized WatchCall send(WatchEvent e) {
      if (!cancelled) {
        out.onNext(e);
      }
      return this;
    }

    synchronized void fail(Status status) {
      if (!cancelled) {
        cancelled = true; // ended: no longer live
        out.onError(status.asRuntimeException());
      }
    }
  }

  final int port = FreePorts.next();
  final List<WatchCall> watches = new CopyOnWriteArrayList<>();
  /** Runs for every new watch call (on a gRPC thread); the default sends nothing. */
  volatile BiConsumer<FakeDiscoveryBroker, WatchCall> onWatch = (b, c) -> {};
  /** What Discover answers: null for no instances, else a status to fail with. */
  volatile Status discover;
  private final Server server;

  FakeDiscoveryBroker() {
    try {
      server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).addService(new DiscoveryServiceGrpc.DiscoveryServiceImplBase() {
        @Override
        public void watch(WatchRequest request, StreamObserver<WatchEvent> responseObserver) {
          WatchCall c = new WatchCall(request, (ServerCallStreamObserver<WatchEvent>) responseObserver);
          watches.add(c);
          onWatch.accept(FakeDiscoveryBroker.this, c);
        }

        @Override
        public void discover(DiscoverRequest request, StreamObserver<DiscoverResponse> responseObserver) {
          Status s = discover;
          if (s != null) {
            responseObserver.onError(s.asRuntimeException());
          } else {
            responseObserver.onNext(DiscoverResponse.getDefaultInstance());
            responseObserver.onCompleted();
          }
        }
      }).build().start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  /** The watch calls not cancelled by the client nor ended. */
  long live() {
    return watches.stream().filter(c -> !c.cancelled).count();
  }

  WatchCall last() {
    return watches.get(watches.size() - 1);
  }

  static Instance instance(String id) {
    return Instance.newBuilder().setService("greeter").setId(id).setHost("127.0.0.1").setPort(9000).setAgentId("a").build();
  }

  static WatchEvent snapshot(long revision, Instance... instances) {
    return WatchEvent.newBuilder().setType(WatchEvent.Type.SNAPSHOT).setRevision(revision).addAllSnapshot(List.of(instances)).build();
  }

  static WatchEvent added(long revision, String id) {
    return WatchEvent.newBuilder().setType(WatchEvent.Type.ADDED).setRevision(revision).setInstance(instance(id)).build();
  }

  static WatchEvent progress(long revision) {
    return WatchEvent.newBuilder().setType(WatchEvent.Type.PROGRESS).setRevision(revision).build();
  }

  static WatchEvent leaving(String... brokers) {
    return WatchEvent.newBuilder().setType(WatchEvent.Type.BROKER_LEAVING).addAllBrokers(List.of(brokers)).build();
  }

  @Override
  public void close() {
    server.shutdownNow();
  }
}
