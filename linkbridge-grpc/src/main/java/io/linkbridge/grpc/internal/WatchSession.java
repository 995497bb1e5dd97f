package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.linkbridge.InstanceEvent;
import io.linkbridge.Watch;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.grpc.v1.WatchRequest;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client's watch of one service. When its broker's stream fails it reopens on the next broker with
 * the last revision it delivered, so the listener sees every change once, in order; if that broker no
 * longer has the revision (OUT_OF_RANGE) it starts over with a fresh SNAPSHOT.
 */
final class WatchSession implements Watch {
  private static final Logger log = LoggerFactory.getLogger(WatchSession.class);

  private final GrpcClient client;
  private final String service;
  private final Consumer<InstanceEvent> listener;
  private final Consumer<WatchSession> onClose;
  private volatile long lastRevision;
  private volatile boolean closed;
  private volatile ClientCallStreamObserver<WatchRequest> call;
  private volatile int failures; // written by one callback or retry at a time

  WatchSession(GrpcClient client, String service, Consumer<InstanceEvent> listener, Consumer<WatchSession> onClose) {
    this.client = client;
    this.service = service;
    this.listener = listener;
    this.onClose = onClose;
  }

  void open() {
    if (closed || client.isClosed()) {
      return;
    }
    int broker = client.currentIndex();
    client.asyncStub(broker).watch(WatchRequest.newBuilder().setService(service).setFromRevision(lastRevision).build(),
        new ClientResponseObserver<WatchRequest, WatchEvent>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<WatchRequest> requestStream) {
            call = requestStream;
          }

          @Override
          public void onNext(WatchEvent e) {
            failures = 0;
            deliver(e);
          }

          @Override
          public void onError(Throwable t) {
            reopenAfter(broker, Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            reopenAfter(broker, Status.UNAVAILABLE.withDescription("broker ended the watch"));
          }
        });
  }

  private void deliver(WatchEvent e) {
    if (closed) {
      return;
    }
    if (e.getType() != WatchEvent.Type.SNAPSHOT && e.getRevision() <= lastRevision) {
      return; // already delivered through another broker
    }
    lastRevision = e.getRevision();
    InstanceEvent event = switch (e.getType()) {
      case SNAPSHOT -> new InstanceEvent(InstanceEvent.Type.SNAPSHOT, e.getRevision(), null, GrpcClient.fromProto(e.getSnapshotList()));
      case ADDED -> single(InstanceEvent.Type.ADDED, e);
      case UPDATED -> single(InstanceEvent.Type.UPDATED, e);
      case REMOVED -> single(InstanceEvent.Type.REMOVED, e);
      case SHUTDOWN_NOTICE -> new InstanceEvent(InstanceEvent.Type.SHUTDOWN_NOTICE, e.getRevision(),
          ProtoMapping.fromProto(e.getInstance(), e.getInstance().getAgentId()), GrpcClient.fromProto(e.getAlternativesList()));
      default -> null;
    };
    if (event == null) {
      return;
    }
    try {
      listener.accept(event);
    } catch (RuntimeException ex) {
      log.error("Watch listener of {} threw on {}; it keeps receiving events", service, event, ex);
    }
  }

  private static InstanceEvent single(InstanceEvent.Type type, WatchEvent e) {
    return new InstanceEvent(type, e.getRevision(), ProtoMapping.fromProto(e.getInstance(), e.getInstance().getAgentId()), List.of());
  }

  private void reopenAfter(int broker, Status status) {
    if (closed || client.isClosed()) {
      return;
    }
    if (status.getCode() == Status.Code.OUT_OF_RANGE) {
      lastRevision = 0; // that broker no longer has our revision: start over with a snapshot
      client.retries().execute(this::open);
      return;
    }
    if (!GrpcClient.isBrokerFailure(status)) {
      log.error("Watch of {} ended: {} {}; not retried", service, status.getCode(), status.getDescription());
      close();
      return;
    }
    failures++;
    var failover = client.spec().failover();
    if (failures > failover.maxRetries() + 1 && !failover.continuousRetry()) {
      log.error("Watch of {} gave up after {} failed attempts; last: {} {}", service, failures, status.getCode(), status.getDescription());
      close();
      return;
    }
    client.failedOn(broker);
    long delay = failures == 1 ? 0 : failover.retryInterval().toMillis();
    client.retries().schedule(this::open, delay, TimeUnit.MILLISECONDS);
  }

  @Override
  public long lastRevision() {
    return lastRevision;
  }

  @Override
  public void close() {
    closed = true;
    ClientCallStreamObserver<WatchRequest> c = call;
    if (c != null) {
      c.cancel("watch closed", null);
    }
    onClose.accept(this);
  }
}
