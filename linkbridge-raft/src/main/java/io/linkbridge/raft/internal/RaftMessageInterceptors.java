package io.linkbridge.raft.internal;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Several interceptors applied in order. */
final class RaftMessageInterceptors implements RaftMessageInterceptor {
  private final List<RaftMessageInterceptor> chain;

  RaftMessageInterceptors(RaftMessageInterceptor... chain) {
    this.chain = List.of(chain);
  }

  @Override
  public CompletableFuture<Void> beforeSend(Object request) {
    CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
    for (RaftMessageInterceptor i : chain) {
      CompletableFuture<Void> next = i.beforeSend(request);
      all = all.isDone() && !all.isCompletedExceptionally() ? next : all.thenCombine(next, (a, b) -> null);
    }
    return all;
  }

  @Override
  public Object answerInstead(Object request) {
    for (RaftMessageInterceptor i : chain) {
      Object answer = i.answerInstead(request);
      if (answer != null) {
        return answer;
      }
    }
    return null;
  }

  @Override
  public <R> CompletableFuture<R> beforeReply(R reply) {
    CompletableFuture<R> result = CompletableFuture.completedFuture(reply);
    for (RaftMessageInterceptor i : chain) {
      result = result.thenCompose(i::beforeReply);
    }
    return result;
  }
}
