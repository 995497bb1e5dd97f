package io.linkbridge.raft.internal;

import io.atomix.protocols.raft.protocol.AppendRequest;
import io.atomix.protocols.raft.protocol.AppendResponse;
import io.atomix.protocols.raft.protocol.RaftResponse;
import java.util.concurrent.CompletableFuture;

/**
 * Closes Atomix 3.1.12's durability gap at the transport, where every append passes:
 *
 * <ul>
 *   <li>the leader forces its log up to the last entry of an AppendRequest before sending it, so its
 *       own vote for a commit is durable;
 *   <li>a follower holds every successful AppendResponse, empty heartbeat replies included (the
 *       leader sets a follower's match index from {@code lastLogIndex}), until its log is forced up to
 *       that index.
 * </ul>
 *
 * Together: an entry is on disk on a majority before the leader can count it as committed. Messages
 * that are not appends pass untouched.
 */
final class AppendDurability implements RaftMessageInterceptor {
  private final LogForcer forcer;

  AppendDurability(LogForcer forcer) {
    this.forcer = forcer;
  }

  @Override
  public CompletableFuture<Void> beforeSend(Object message) {
    if (message instanceof AppendRequest request && !request.entries().isEmpty()) {
      return forcer.force(request.term(), request.prevLogIndex() + request.entries().size());
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public <R> CompletableFuture<R> beforeReply(R reply) {
    if (reply instanceof AppendResponse response && response.status() == RaftResponse.Status.OK && response.succeeded()) {
      return forcer.force(response.term(), response.lastLogIndex()).thenApply(v -> reply);
    }
    return CompletableFuture.completedFuture(reply);
  }
}
