package io.linkbridge.internal.agent;

import io.linkbridge.HostAndPort;
import io.linkbridge.Registry;
import io.linkbridge.spi.AgentHeartbeats;
import io.linkbridge.spi.AgentSessions;
import io.linkbridge.spi.AgentSink;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;

/**
 * The agent sessions of this broker, and which stream is each agent's current one here: a detach
 * from an older stream must not undo a newer attach. On a graceful shutdown it tells each agent to
 * move and says when none is left. Thread-safe.
 */
public final class BrokerAgentSessions implements AgentSessions {
  private final String brokerId;
  private final Registry registry;
  private final AgentRegistrar registrar;
  private final AgentHeartbeats heartbeats;
  private final Duration pingInterval;
  private final ConcurrentMap<String, AgentSession> current = new ConcurrentHashMap<>();
  /** Detaches proposed and not answered yet: a leaving broker stays in Raft until they are. */
  private final Set<CompletableFuture<?>> detaches = ConcurrentHashMap.newKeySet();
  private final CompletableFuture<Void> allGone = new CompletableFuture<>();
  private volatile String leaving;

  public BrokerAgentSessions(String brokerId, Registry registry, AgentRegistrar registrar, AgentHeartbeats heartbeats, Duration pingInterval) {
    this.brokerId = brokerId;
    this.registry = registry;
    this.registrar = registrar;
    this.heartbeats = heartbeats;
    this.pingInterval = pingInterval;
  }

  @Override
  public Session open(AgentSink sink) {
    return new AgentSession(this, sink);
  }

  /**
   * This broker leaves: each agent is told to move to one of {@code brokers} (or, without
   * {@code notify}, its stream ends now). Completes once no agent stream is left and every detach
   * they caused has been answered.
   */
  public CompletableFuture<Void> leave(String reason, List<HostAndPort> brokers, boolean notify, Duration gracePeriod) {
    leaving = reason;
    for (AgentSession s : List.copyOf(current.values())) {
      s.leave(brokers, notify, gracePeriod);
    }
    changed();
    return allGone;
  }

  /** Why a new agent stream is refused (this broker is leaving), or null. */
  String leaving() {
    return leaving;
  }

  /** Makes {@code session} the current stream of agent {@code agentId}; returns the one it replaces, or null. */
  AgentSession claim(String agentId, AgentSession session) {
    return current.put(agentId, session);
  }

  /** The stream of agent {@code agentId} ended: if it is still the current one, proposes the detach. */
  void release(String agentId, AgentSession session, Supplier<CompletableFuture<?>> detach) {
    if (!current.remove(agentId, session)) {
      return;
    }
    CompletableFuture<?> f = detach.get();
    detaches.add(f);
    f.whenComplete((r, e) -> {
      detaches.remove(f);
      changed();
    });
    changed();
  }

  private void changed() {
    if (leaving != null && current.isEmpty() && detaches.isEmpty()) {
      allGone.complete(null);
    }
  }

  /** The agents with a stream here now. */
  public int connected() {
    return current.size();
  }

  String brokerId() {
    return brokerId;
  }

  Registry registry() {
    return registry;
  }

  AgentRegistrar registrar() {
    return registrar;
  }

  AgentHeartbeats heartbeats() {
    return heartbeats;
  }

  Duration pingInterval() {
    return pingInterval;
  }
}
