package io.linkbridge.raft.internal;

import java.util.concurrent.CompletableFuture;

/**
 * A hook on the Raft messages the transport carries: where the adapter corrects Atomix 3.1.12
 * without patching it. Messages are Atomix protocol objects; methods are called on transport threads
 * and must not block.
 */
interface RaftMessageInterceptor {

  /** Completes when {@code request} may be sent. */
  default CompletableFuture<Void> beforeSend(Object request) {
    return CompletableFuture.completedFuture(null);
  }

  /** An answer to give instead of handing {@code request} to Atomix, or null to hand it over. */
  default Object answerInstead(Object request) {
    return null;
  }

  /** Completes with {@code reply} when it may be sent back. */
  default <R> CompletableFuture<R> beforeReply(R reply) {
    return CompletableFuture.completedFuture(reply);
  }
}
