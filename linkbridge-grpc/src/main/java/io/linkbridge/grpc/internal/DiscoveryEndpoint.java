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
import io.linkbridge.spi.Watches;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * {@code linkbridge.v1.DiscoveryService}: answered from this broker's replica. Every request is
 * checked first; a bad one gets INVALID_ARGUMENT naming the field and the rule, and affects no other
 * call.
 */
final class DiscoveryEndpoint extends DiscoveryServiceGrpc.DiscoveryServiceImplBase {
  /** The progress interval of a watch that asks for none; the range a watch may ask for. */
  static final long DEFAULT_PROGRESS_MILLIS = 5_000;
  static final long MIN_PROGRESS_MILLIS = 100;
  static final long MAX_PROGRESS_MILLIS = 600_000;

  private final Registry registry;
  private final Watches watches;

  DiscoveryEndpoint(Registry registry, Watches watches) {
    this.registry = registry;
    this.watches = watches;
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
    if (state.instances(request.getService()).isEmpty()) { // not the same as "no other instance": say so
      response.onError(Status.NOT_FOUND.withDescription("no instance of service " + request.getService() + " is registered (broker revision "
          + state.revision() + ")").asRuntimeException());
      return;
    }
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
    long progress = request.getProgressIntervalMillis();
    if (progress != 0 && (progress < MIN_PROGRESS_MILLIS || progress > MAX_PROGRESS_MILLIS)) {
      response.onError(Status.INVALID_ARGUMENT.withDescription("progress_interval_millis must be 0 (the default, " + DEFAULT_PROGRESS_MILLIS
          + ") or in " + MIN_PROGRESS_MILLIS + ".." + MAX_PROGRESS_MILLIS + ", was " + progress).asRuntimeException());
      return;
    }
    WatchStream stream = new WatchStream((ServerCallStreamObserver<WatchEvent>) response);
    try {
      stream.attach(watches.open(ClientSessionInterceptor.clientId(), request.getService(), request.getFromRevision(),
          Duration.ofMillis(progress == 0 ? DEFAULT_PROGRESS_MILLIS : progress), stream));
    } catch (Watches.Refused refused) {
      Status status = switch (refused.reason()) {
        case TOO_OLD, IN_THE_FUTURE -> Status.OUT_OF_RANGE;
        case TOO_MANY_WATCHES -> Status.RESOURCE_EXHAUSTED;
        case NOT_SERVING -> Status.UNAVAILABLE;
      };
      response.onError(status.withDescription(refused.getMessage()).asRuntimeException());
    }
  }

  /** A broker that has not caught up, cannot trust its disk or is leaving answers UNAVAILABLE, so the client asks another one. */
  private boolean serving(StreamObserver<?> response) {
    Optional<String> why = watches.notServing();
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
