package io.linkbridge.it;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.grpc.v1.WatchRequest;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** Raw watches over the broker API, for tests that check what every broker pushes. */
final class Watches {
  private Watches() {}

  /** Watches {@code service} through {@code channel} from a fresh snapshot; returns the events as they arrive. */
  static List<WatchEvent> collect(ManagedChannel channel, String service) {
    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    watch(channel, service, events::add);
    return events;
  }

  static void watch(ManagedChannel channel, String service, Consumer<WatchEvent> onEvent) {
    DiscoveryServiceGrpc.newStub(channel).watch(WatchRequest.newBuilder().setService(service).build(), new StreamObserver<>() {
      @Override
      public void onNext(WatchEvent e) {
        onEvent.accept(e);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    });
  }
}
