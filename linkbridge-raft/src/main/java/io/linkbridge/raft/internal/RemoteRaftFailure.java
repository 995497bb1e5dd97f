package io.linkbridge.raft.internal;

import io.atomix.cluster.messaging.MessagingException;

/**
 * A peer received a Raft request and its handler failed: the peer is reachable, so this is Atomix's
 * {@link MessagingException.RemoteHandlerFailure} (which it does not retry elsewhere as it would an
 * unreachable member), carrying the peer's message.
 */
final class RemoteRaftFailure extends MessagingException.RemoteHandlerFailure {
  private static final long serialVersionUID = 1L;

  private final String message;

  RemoteRaftFailure(String message) {
    this.message = message;
  }

  @Override
  public String getMessage() {
    return message;
  }
}
