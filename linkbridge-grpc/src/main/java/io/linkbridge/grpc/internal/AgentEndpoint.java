package io.linkbridge.grpc.internal;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.spi.BrokerContext;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import io.linkbridge.HostAndPort;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * {@code linkbridge.v1.AgentService}: one {@link AgentSession} per agent stream, and which stream is
 * each agent's current one on this broker. Thread-safe.
 */
final class AgentEndpoint extends AgentServiceGrpc.AgentServiceImplBase {
  private final BrokerContext context;
  /** The current stream of each agent on this broker: a detach from an older stream must not undo a newer attach. */
  private final ConcurrentMap<String, AgentSession> sessions = new ConcurrentHashMap<>();
  /** Detaches proposed and not answered yet: a leaving broker stays in Raft until they are. */
  private final Set<CompletableFuture<?>> detaches = ConcurrentHashMap.newKeySet();
  private final CompletableFuture<Void> allGone = new CompletableFuture<>();
  private volatile String leavingReason;

  AgentEndpoint(BrokerContext context) {
    this.context = context;
  }

  @Override
  public StreamObserver<AgentMessage> connect(StreamObserver<BrokerMessage> responses) {
    return new AgentSession(context, (ServerCallStreamObserver<BrokerMessage>) responses, this);
  }

  /**
   * This broker leaves: each agent is told to move to one of {@code brokers} (or, without
   * {@code notify}, its stream ends now). Completes once no agent stream is left and every detach
   * they caused has been answered.
   */
  CompletableFuture<Void> leave(List<HostAndPort> brokers, boolean notify, Duration gracePeriod) {
    leavingReason = "broker " + context.brokerId() + " is shutting down; " + (brokers.isEmpty() ? "use another broker" : "use one of " + brokers);
    for (AgentSession s : List.copyOf(sessions.values())) {
      s.leave(brokers, notify, gracePeriod);
    }
    changed();
    return allGone;
  }

  /** Why a new agent stream is refused (this broker is leaving), or null. */
  String leaving() {
    return leavingReason;
  }

  /** Makes {@code session} the current stream of agent {@code agentId}; returns the one it replaces, or null. */
  AgentSession claim(String agentId, AgentSession session) {
    return sessions.put(agentId, session);
  }

  /**
   * The stream of agent {@code agentId} ended: if it is still the current one, proposes the detach
   * and returns true (an older stream's end must not undo a newer attach).
   */
  boolean release(String agentId, AgentSession session, Supplier<CompletableFuture<?>> detach) {
    if (!sessions.remove(agentId, session)) {
      return false;
    }
    CompletableFuture<?> f = detach.get();
    detaches.add(f);
    f.whenComplete((r, e) -> {
      detaches.remove(f);
      changed();
    });
    changed();
    return true;
  }

  private void changed() {
    if (leavingReason != null && sessions.isEmpty() && detaches.isEmpty()) {
      allGone.complete(null);
    }
  }
}
