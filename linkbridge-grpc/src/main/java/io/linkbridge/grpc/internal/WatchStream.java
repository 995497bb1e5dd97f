package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.spi.WatchItem;
import io.linkbridge.spi.WatchSink;
import io.linkbridge.spi.Watches;

/**
 * One watch's gRPC stream, as the watch hub's sink: written only while {@code isReady()}, woken by
 * {@code onReady}, released on cancel. The hub is its one writer.
 */
final class WatchStream implements WatchSink {
  private final ServerCallStreamObserver<WatchEvent> out;
  private Watches.Watch watch;   // set once open() returned; guarded by this
  private boolean cancelled;

  /** Registers the handlers now, as gRPC requires before the service method returns. */
  WatchStream(ServerCallStreamObserver<WatchEvent> out) {
    this.out = out;
    out.setOnReadyHandler(() -> {
      Watches.Watch w = watch();
      if (w != null) {
        w.ready();
      }
    });
    out.setOnCancelHandler(() -> {
      Watches.Watch w;
      synchronized (this) {
        cancelled = true;
        w = watch;
      }
      if (w != null) {
        w.close();
      }
    });
  }

  private synchronized Watches.Watch watch() {
    return watch;
  }

  /** The hub opened the watch: it now follows this stream's readiness and cancellation. */
  void attach(Watches.Watch w) {
    boolean gone;
    synchronized (this) {
      watch = w;
      gone = cancelled;
    }
    if (gone) {
      w.close();
    }
  }

  @Override
  public boolean isReady() {
    return out.isReady();
  }

  @Override
  public void send(WatchItem item) {
    out.onNext(item.encoded(WatchEncoding::encode));
  }

  @Override
  public void end(Ending ending) {
    Status status = switch (ending.reason()) {
      case TOO_FAR_BEHIND -> Status.RESOURCE_EXHAUSTED;
      case BROKER_LEAVING, BROKER_STOPPED -> Status.UNAVAILABLE;
    };
    try {
      out.onError(status.withDescription(ending.description()).asRuntimeException());
    } catch (IllegalStateException e) {
      // the call is already closed (cancelled by the client)
    }
  }
}
