package io.linkbridge.spi;

import java.time.Duration;
import java.util.Optional;

/**
 * The broker's watch hub, which a transport's watch streams open with: it looks watches up by
 * service (an event costs only the watches of its service), queues items for each watch off the
 * Raft apply thread, bounds every queue, and sends PROGRESS on idle watches. Thread-safe.
 */
public interface Watches {

  /**
   * Opens a watch of {@code service} for client session {@code clientId}: from revision 0 it starts
   * with a SNAPSHOT; from R &gt; 0 with every change after R. Items go to {@code sink}; an idle watch
   * gets PROGRESS every {@code progressInterval}. The snapshot or replay is built on the calling
   * thread, holding nothing the apply thread needs.
   *
   * @throws Refused when the watch cannot open, saying why
   */
  Watch open(String clientId, String service, long fromRevision, Duration progressInterval, WatchSink sink) throws Refused;

  /** Why this broker does not accept watches now (it is starting, failed or leaving), or empty. */
  Optional<String> notServing();

  /** One open watch, as its transport holds it. Thread-safe. */
  interface Watch {
    /** The stream can take more items again. */
    void ready();

    /** The client went away (or the transport ended the stream): stop, send nothing more, release everything. */
    void close();
  }

  /** A watch that could not open. */
  final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why, from the client's point of view. */
    public enum Reason {
      /** {@code fromRevision} is older than this broker's event history: watch again from 0. */
      TOO_OLD,
      /** {@code fromRevision} is newer than anything the cluster committed (a rebuilt cluster): watch again from 0. */
      IN_THE_FUTURE,
      /** The client holds as many watches as allowed. */
      TOO_MANY_WATCHES,
      /** This broker does not serve watches now: ask another one. */
      NOT_SERVING
    }

    private final Reason reason;

    public Refused(Reason reason, String message) {
      super(message, null, false, false);
      this.reason = reason;
    }

    public Reason reason() {
      return reason;
    }
  }
}
