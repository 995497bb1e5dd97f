package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.linkbridge.Registry;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.DiscoverRequest;
import io.linkbridge.grpc.v1.DiscoverResponse;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.grpc.v1.GetAlternativesRequest;
import io.linkbridge.grpc.v1.ListServicesRequest;
import io.linkbridge.grpc.v1.ListServicesResponse;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.grpc.v1.WatchRequest;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.spi.Readiness;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * {@code linkbridge.v1.DiscoveryService}: answered from this broker's replica. Every request is
 * checked first; a bad one gets INVALID_ARGUMENT naming the field and the rule, and affects no other
 * call.
 */
final class DiscoveryEndpoint extends DiscoveryServiceGrpc.DiscoveryServiceImplBase {
  private final Registry registry;
  private final EventHistory history;
  private final Executor watchExecutor;
  private final WatchEvents watchEvents;
  private final Readiness readiness;

  DiscoveryEndpoint(Registry registry, Readiness readiness, EventHistory history, Executor watchExecutor) {
    this.registry = registry;
    this.readiness = readiness;
    this.history = history;
    this.watchExecutor = watchExecutor;
    this.watchEvents = new WatchEvents(registry);
  }

  @Override
  public void discover(DiscoverRequest request, StreamObserver<DiscoverResponse> response) {
    if (!serving(response) || !validService(request.getService(), response)) {
      return;
    }
    ClusterState state = registry.state();
    List<ServiceInstance> instances = state.instances(request.getService());
    if (!request.getIncludeAll()) {
      instances = instances.stream().filter(ServiceInstance::takesCalls).toList();
    }
    response.onNext(DiscoverResponse.newBuilder().addAllInstances(ProtoMapping.toProto(instances)).setRevision(state.revision()).build());
    response.onCompleted();
  }

  @Override
  public void getAlternatives(GetAlternativesRequest request, StreamObserver<DiscoverResponse> response) {
    if (!serving(response) || !validService(request.getService(), response)) {
      return;
    }
    Set<String> excluded = new HashSet<>(request.getExcludeIdsList());
    ClusterState state = registry.state();
    List<ServiceInstance> instances = state.instances(request.getService()).stream()
        .filter(i -> i.takesCalls() && !excluded.contains(i.id())).toList();
    response.onNext(DiscoverResponse.newBuilder().addAllInstances(ProtoMapping.toProto(instances)).setRevision(state.revision()).build());
    response.onCompleted();
  }

  @Override
  public void listServices(ListServicesRequest request, StreamObserver<ListServicesResponse> response) {
    if (!serving(response)) {
      return;
    }
    ClusterState state = registry.state();
    response.onNext(ListServicesResponse.newBuilder().addAllServices(state.services()).setRevision(state.revision()).build());
    response.onCompleted();
  }

  @Override
  public void watch(WatchRequest request, StreamObserver<WatchEvent> response) {
    if (!serving(response) || !validService(request.getService(), response)) {
      return;
    }
    if (request.getFromRevision() < 0) {
      response.onError(Status.INVALID_ARGUMENT.withDescription("from_revision must be >= 0, was " + request.getFromRevision()).asRuntimeException());
      return;
    }
    ServerCallStreamObserver<WatchEvent> out = (ServerCallStreamObserver<WatchEvent>) response;
    WatchStream watch = new WatchStream(request.getService(), registry, watchEvents, out, watchExecutor);
    java.util.concurrent.atomic.AtomicReference<AutoCloseable> subscription = new java.util.concurrent.atomic.AtomicReference<>(() -> {});
    // Set before anything is sent: no message goes out while the call is still being set up.
    out.setOnCancelHandler(() -> {
      watch.close();
      close(subscription.get());
    });
    // Subscribe and read the starting point under the watch's lock: events that arrive meanwhile
    // wait, then only those after the starting revision go out. No gap, no duplicate.
    synchronized (watch) {
      subscription.set(registry.subscribe(watch));
      if (request.getFromRevision() == 0) {
        watch.startWithSnapshot();
      } else {
        EventHistory.Result past = history.after(request.getFromRevision());
        if (past.events() == null) {
          close(subscription.get());
          watch.close();
          out.onError(Status.OUT_OF_RANGE.withDescription("revision " + request.getFromRevision()
              + " is older than this broker's event history; watch again with from_revision=0 for a fresh snapshot").asRuntimeException());
          return;
        }
        watch.startAfter(past.events(), Math.max(request.getFromRevision(), past.latest()));
      }
    }
  }

  private static void close(AutoCloseable subscription) {
    try {
      subscription.close();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A broker that has not caught up (or cannot trust its disk) answers UNAVAILABLE, so the client asks another one. */
  private boolean serving(StreamObserver<?> response) {
    Optional<String> why = readiness.notServing();
    why.ifPresent(reason -> response.onError(Status.UNAVAILABLE.withDescription(reason).asRuntimeException()));
    return why.isEmpty();
  }

  private static boolean validService(String service, StreamObserver<?> response) {
    try {
      ServiceInstance.builder(service); // applies the model's service-name rule
      return true;
    } catch (IllegalArgumentException e) {
      response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      return false;
    }
  }
}
