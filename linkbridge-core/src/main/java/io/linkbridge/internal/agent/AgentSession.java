package io.linkbridge.internal.agent;

import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.HostAndPort;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.registry.RegistryCommand.Fence;
import io.linkbridge.spi.AgentHeartbeats;
import io.linkbridge.spi.AgentSessions;
import io.linkbridge.spi.AgentSink;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent's stream to this broker. Every message is checked before anything reaches the Raft log;
 * a bad one ends this stream naming the field and the rule, and no other stream. After
 * {@code register} the broker's agent liveness pings the agent every agent ping interval; no pong
 * within the agent timeout, or a broken stream, detaches the agent from this broker through Raft.
 * A write that did not commit gets a Nack and the session stays.
 */
final class AgentSession implements AgentSessions.Session {
  private static final Logger log = LoggerFactory.getLogger(AgentSession.class);
  /** Messages written while the agent's stream was not ready: an agent that reads nothing is ended past it. */
  static final int MAX_UNREAD = 1_000;

  private final BrokerAgentSessions sessions;
  private final AgentSink sink;
  private final AtomicBoolean ended = new AtomicBoolean();
  private final Object sending = new Object();
  private int unread; // guarded by sending
  private volatile String agentId;
  private volatile AgentHeartbeats.Heartbeat heartbeat;
  private long pingSequence;
  /** What this stream registered (with later updates and deregistrations), by service/id: to re-attach the agent. */
  private final Map<String, ServiceInstance> registered = new LinkedHashMap<>();
  /** This run of the agent (empty: its messages are not fenced); set by the first register. */
  private volatile String incarnation;
  /** The agent's version after the last message of this stream (guarded by registered): what a re-attach is fenced with. */
  private long version;
  private volatile boolean attaching;
  private volatile boolean draining;

  AgentSession(BrokerAgentSessions sessions, AgentSink sink) {
    this.sessions = sessions;
    this.sink = sink;
  }

  private boolean registeredYet(String what) {
    if (agentId == null) {
      end(AgentSink.Kind.OUT_OF_ORDER, "the first message of an agent stream must be register, was " + what);
      return false;
    }
    return !ended.get();
  }

  @Override
  public void register(String id, String run, List<ServiceInstance> instances, long atVersion, long sequence) {
    if (ended.get()) {
      return;
    }
    try {
      new AgentInfo(id, AgentStatus.ALIVE, Set.of()); // the agent-id rule of the model
      if (!run.isEmpty()) {
        new Fence(id, run, 0); // the incarnation's rules
      }
    } catch (IllegalArgumentException e) {
      end(AgentSink.Kind.INVALID, "register." + e.getMessage());
      return;
    }
    if (!versionValid("register", atVersion)) {
      return;
    }
    if (agentId != null && !agentId.equals(id)) {
      end(AgentSink.Kind.OUT_OF_ORDER, "this stream is registered as agent '" + agentId + "', cannot register as '" + id + "'");
      return;
    }
    if (incarnation != null && !incarnation.equals(run)) {
      end(AgentSink.Kind.OUT_OF_ORDER, "this stream is registered as run '" + incarnation + "' of agent '" + id + "', cannot register as run '"
          + run + "'");
      return;
    }
    String leaving = sessions.leaving();
    if (leaving != null) {
      end(AgentSink.Kind.BROKER_LEAVING, leaving);
      return;
    }
    boolean first = agentId == null;
    agentId = id;
    incarnation = run;
    AgentSession replaced = sessions.claim(id, this);
    if (replaced != null && replaced != this) {
      replaced.supersede();
    }
    leaving = sessions.leaving(); // leave() may have looked at every session just before this one was claimed
    if (leaving != null) {
      end(AgentSink.Kind.BROKER_LEAVING, leaving);
      return;
    }
    Fence fence;
    synchronized (registered) {
      registered.clear();
      instances.forEach(i -> registered.put(key(i.service(), i.id()), i));
      fence = fenceAt(atVersion);
    }
    attaching = true;
    answer("register", sequence, sessions.registrar().attach(id, registeredNow(), fence)).whenComplete((ok, e) -> attaching = false);
    if (first) { // the broker's agent liveness pings it from now on, and says when it timed out
      heartbeat = sessions.heartbeats().watch(id, this::ping, reason -> end(AgentSink.Kind.TIMED_OUT, reason));
      if (ended.get()) {
        heartbeat.stop(); // ended while being registered
      }
    } else {
      heartbeat.answered();
    }
  }

  @Override
  public void update(List<ServiceInstance> instances, boolean committedElsewhere, long atVersion, long sequence) {
    if (!registeredYet("update") || !versionValid("update", atVersion)) {
      return;
    }
    Fence fence;
    synchronized (registered) {
      instances.forEach(i -> registered.put(key(i.service(), i.id()), i));
      fence = fenceAt(atVersion);
    }
    CompletableFuture<Long> write = committedElsewhere ? CompletableFuture.completedFuture(sessions.registry().revision())
        : attachedHere() ? sessions.registrar().update(agentId, instances, false, fence)
        : sessions.registrar().attach(agentId, registeredNow(), fence); // detached meanwhile (a leader's clean-up, a write that did not commit)
    answer("update", sequence, write);
  }

  private boolean versionValid(String what, long atVersion) {
    if (atVersion < 0) {
      end(AgentSink.Kind.INVALID, "version (of the " + what + " message) must be >= 0, was " + atVersion);
      return false;
    }
    return true;
  }

  /**
   * Under registered: the fence of a message at {@code atVersion} (null when the agent is not fenced),
   * and the stream's version from now on. A re-attach carries the highest version the stream saw.
   */
  private Fence fenceAt(long atVersion) {
    version = Math.max(version, atVersion);
    return incarnation == null || incarnation.isEmpty() ? null : new Fence(agentId, incarnation, atVersion);
  }

  @Override
  public void pong() {
    if (registeredYet("pong")) {
      heartbeat.answered();
    }
  }

  @Override
  public void shutdownNotice(long atVersion, long sequence) {
    if (registeredYet("shutdown_notice") && versionValid("shutdown_notice", atVersion)) {
      draining = true;
      Fence fence;
      synchronized (registered) {
        fence = fenceAt(atVersion);
      }
      answer("shutdown_notice", sequence, sessions.registrar().drain(agentId, fence));
    }
  }

  @Override
  public void deregister(String service, List<String> instanceIds, boolean committedElsewhere, long atVersion, long sequence) {
    if (!registeredYet("deregister") || !versionValid("deregister", atVersion)) {
      return;
    }
    if (!instanceIds.isEmpty()) {
      ServiceInstance.Builder rules; // the model's service-name and id rules
      try {
        rules = ServiceInstance.builder(service);
      } catch (IllegalArgumentException e) {
        end(AgentSink.Kind.INVALID, "deregister." + e.getMessage());
        return;
      }
      for (int i = 0; i < instanceIds.size(); i++) {
        try {
          rules.id(instanceIds.get(i));
        } catch (IllegalArgumentException e) {
          end(AgentSink.Kind.INVALID, "deregister.instance_ids[" + i + "]: " + e.getMessage());
          return;
        }
      }
    }
    Fence fence;
    synchronized (registered) { // a re-attach must not bring back what the agent removed
      if (instanceIds.isEmpty()) {
        registered.clear();
      } else {
        instanceIds.forEach(id -> registered.remove(key(service, id)));
      }
      fence = fenceAt(atVersion);
    }
    answer("deregister", sequence, committedElsewhere ? CompletableFuture.completedFuture(sessions.registry().revision())
        : instanceIds.isEmpty() ? sessions.registrar().deregisterAll(agentId, fence)
        : sessions.registrar().deregister(agentId, service, instanceIds, fence));
  }

  @Override
  public void invalid(String description) {
    end(AgentSink.Kind.INVALID, description);
  }

  @Override
  public void closed(boolean orderly) {
    end(orderly ? AgentSink.Kind.COMPLETED : null, "the agent ended its stream");
  }

  private boolean attachedHere() {
    return sessions.registry().state().agent(agentId).map(a -> a.status() != AgentStatus.DEAD && a.brokers().contains(sessions.brokerId()))
        .orElse(false);
  }

  /** What the stream registered (with later updates and deregistrations): what a (re-)attach registers. */
  private List<ServiceInstance> registeredNow() {
    synchronized (registered) {
      return new ArrayList<>(registered.values());
    }
  }

  private static String key(String service, String id) {
    return service + "/" + id;
  }

  /**
   * Answers one agent message once its write is done: acks with the revision, or ends the stream
   * naming the refusal. A write that did not commit is the agent's to retry, never a reason to drop
   * its session: it gets a Nack and the stream stays (ending it would detach a live agent, and perhaps
   * leave it DEAD).
   */
  private CompletableFuture<Void> answer(String what, long sequence, CompletableFuture<Long> write) {
    return write.handle((revision, error) -> {
      if (error == null) {
        send(() -> sink.ack(sequence, what, revision));
        return null;
      }
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      if (cause instanceof RegistrationRejectedException rejected) {
        end(new AgentSink.Ending(AgentSink.Kind.REFUSED, rejected.reason(), what + ": " + rejected.getMessage()));
        return null;
      }
      log.debug("Broker {}: {} of agent {} was not committed: {}", sessions.brokerId(), what, agentId, cause.toString());
      if (sequence != 0) {
        send(() -> sink.nack(sequence, what, what + " was not committed: " + cause.getMessage() + "; resend it, here or on another broker"));
      }
      return null;
    });
  }

  /** Called by the broker's agent liveness every agent ping interval. */
  private void ping() {
    send(() -> sink.ping(++pingSequence, sessions.pingInterval()));
    reattachIfDetached();
  }

  /**
   * The leader detaches the agents of a broker it cannot reach; when this broker is reachable again and
   * still holds the agent's live stream, it attaches the agent again and re-registers its instances.
   */
  private void reattachIfDetached() {
    String id = agentId;
    if (attaching || draining || id == null) {
      return;
    }
    if (!attachedHere()) {
      log.info("Agent {} is no longer attached to broker {} in the registry; attaching it again", id, sessions.brokerId());
      attaching = true;
      Fence fence;
      synchronized (registered) {
        fence = fenceAt(version);
      }
      answer("register", 0, sessions.registrar().attach(id, registeredNow(), fence)).whenComplete((ok, e) -> attaching = false);
    }
  }

  /** One message to the agent, unless the session ended; an agent that reads none of {@link #MAX_UNREAD} of them is ended. */
  private void send(Runnable message) {
    boolean overflow;
    synchronized (sending) {
      if (ended.get()) {
        return;
      }
      unread = sink.isReady() ? 0 : unread + 1;
      overflow = unread > MAX_UNREAD;
      if (!overflow) {
        try {
          message.run();
        } catch (RuntimeException e) {
          overflow = false; // the stream is gone: its close reaches closed()
        }
      }
    }
    if (overflow) {
      end(AgentSink.Kind.NOT_READING, "agent " + agentId + " read none of the broker's last " + MAX_UNREAD
          + " messages (pings and acks); its stream is closed: read the stream, then connect again");
    }
  }

  /** This broker is leaving: tell the agent where to go (it registers there, then ends this stream), or end it now. */
  void leave(List<HostAndPort> brokers, boolean notify, Duration gracePeriod) {
    if (notify) {
      send(() -> sink.brokerLeaving(brokers, gracePeriod));
    } else {
      end(AgentSink.Kind.BROKER_LEAVING, sessions.leaving());
    }
  }

  /** A newer stream of the same agent took over on this broker: end this one without detaching. */
  private void supersede() {
    if (ended.compareAndSet(false, true)) {
      cancelPings();
      closeSink(AgentSink.Ending.of(AgentSink.Kind.SUPERSEDED, "a newer stream of agent '" + agentId + "' replaced this one"));
    }
  }

  private void end(AgentSink.Kind kind, String description) {
    end(kind == null ? null : AgentSink.Ending.of(kind, description));
  }

  /** Ends the stream (with {@code ending} unless it is already gone) and detaches the agent from this broker. */
  private void end(AgentSink.Ending ending) {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    cancelPings();
    if (ending != null) {
      closeSink(ending);
    }
    String id = agentId;
    if (id != null) {
      sessions.release(id, this, () -> sessions.registrar().detach(id).whenComplete((r, e) -> {
        if (e != null) {
          log.warn("Broker {} could not detach agent {}: {}; the leader's clean-up will", sessions.brokerId(), id, e.toString());
        }
      }));
    }
  }

  private void cancelPings() {
    AgentHeartbeats.Heartbeat h = heartbeat;
    if (h != null) {
      h.stop();
    }
  }

  private void closeSink(AgentSink.Ending ending) {
    synchronized (sending) {
      try {
        sink.end(ending);
      } catch (RuntimeException e) {
        // already closed by the peer
      }
    }
  }
}
