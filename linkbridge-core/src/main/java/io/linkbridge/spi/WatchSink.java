package io.linkbridge.spi;

/**
 * Where a watch's items go: one client's stream, as a transport implements it. The hub calls it from
 * one thread at a time per watch (one writer), never from the Raft apply thread. The hub writes only
 * while {@link #isReady()}; the transport calls {@link Watches.Watch#ready()} when the stream can take
 * more again (gRPC's {@code onReady}), so a watcher that reads nothing holds a bounded queue of items
 * here and nothing more. Methods must not block.
 */
public interface WatchSink {

  /** Whether the stream takes another item now without buffering it (gRPC's {@code isReady()}). */
  boolean isReady();

  /** Writes one item. */
  void send(WatchItem item);

  /**
   * Ends the stream; nothing is sent after it. Called once, unless the transport itself ended the
   * watch ({@link Watches.Watch#close()}).
   */
  void end(Ending ending);

  /** Why a watch ended, what the client should do, and from which revision to resume. */
  record Ending(Reason reason, long resumeFrom, String description) {}

  /** Why a watch ended. */
  enum Reason {
    /** The watcher fell too far behind (it reads too slowly): resume from {@code resumeFrom}. */
    TOO_FAR_BEHIND,
    /** This broker is leaving (BROKER_LEAVING was sent first, when clients are notified): resume elsewhere. */
    BROKER_LEAVING,
    /** This broker stopped at once: resume elsewhere. */
    BROKER_STOPPED
  }
}
