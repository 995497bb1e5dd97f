package io.linkbridge.raft.internal;

import io.atomix.protocols.raft.protocol.PollRequest;
import io.atomix.protocols.raft.protocol.PollResponse;
import io.atomix.protocols.raft.protocol.RaftResponse;
import io.atomix.protocols.raft.protocol.VoteRequest;
import io.atomix.protocols.raft.protocol.VoteResponse;
import java.net.ConnectException;
import java.util.concurrent.CompletableFuture;

/**
 * A member that discarded its damaged state may have been part of the majority that committed an
 * entry it no longer has; if it voted now, it could elect a candidate that lacks the entry, and an
 * acknowledged write would be lost; if it ran for election itself, a peer with a shorter log could
 * elect it without those entries. So until it has caught up from a leader it grants no vote, accepts
 * no pre-vote poll, and sends none (it still follows, replicates and catches up). Thread-safe.
 */
final class VoteAbstention implements RaftMessageInterceptor {
  private volatile boolean abstaining;

  void abstainUntilCaughtUp() {
    abstaining = true;
  }

  void caughtUp() {
    abstaining = false;
  }

  boolean abstaining() {
    return abstaining;
  }

  @Override
  public CompletableFuture<Void> beforeSend(Object request) {
    if (abstaining && (request instanceof VoteRequest || request instanceof PollRequest)) {
      return CompletableFuture.failedFuture(new ConnectException("this member discarded its state and has not caught up: it does not run"
          + " for election"));
    }
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public Object answerInstead(Object request) {
    if (!abstaining) {
      return null;
    }
    if (request instanceof VoteRequest vote) {
      return VoteResponse.builder().withStatus(RaftResponse.Status.OK).withTerm(vote.term()).withVoted(false).build();
    }
    if (request instanceof PollRequest poll) {
      return PollResponse.builder().withStatus(RaftResponse.Status.OK).withTerm(poll.term()).withAccepted(false).build();
    }
    return null;
  }
}
