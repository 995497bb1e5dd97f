package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.HostAndPort;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.RegistrationRejectedException.Reason;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.Ack;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.BrokerLeaving;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.grpc.v1.Deregister;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.Nack;
import io.linkbridge.grpc.v1.Ping;
import io.linkbridge.grpc.v1.Register;
import io.linkbridge.grpc.v1.Update;
import io.linkbridge.spi.AgentHeartbeats;
import io.linkbridge.spi.BrokerContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent's stream to this broker. Every message is checked before anything reaches the Raft log;
 * a bad one ends this stream with a status naming the field and the rule, and no other stream. After
 * {@code register} the broker pings every heartbeat interval; no pong within the agent timeout, or a
 * broken stream, detaches the agent from this broker through Raft.
 */
final class AgentSession implements StreamObserver<AgentMessage> {
  private static final Logger log = LoggerFactory.getLogger(AgentSession.class);

  private final BrokerContext context;
  private final ServerCallStreamObserver<BrokerMessage> out;
  private final AgentEndpoint endpoint;
  /** Messages written while the agent's stream was not ready: an agent that reads nothing is ended past {@link #MAX_UNREAD}. */
  private int unread;
  static final int MAX_UNREAD = 1_000;
  private final AtomicBoolean ended = new AtomicBoolean();
  private volatile String agentId;
  private volatile AgentHeartbeats.Heartbeat heartbeat;
  private long pingSequence;
  /** What this stream registered (with later updates and deregistrations), by service/id: to re-attach the agent. */
  private final Map<String, ServiceInstance> registered = new LinkedHashMap<>();
  private volatile boolean attaching;
  private volatile boolean draining;

  AgentSession(BrokerContext context, ServerCallStreamObserver<BrokerMessage> out, AgentEndpoint endpoint) {
    this.context = context;
    this.out = out;
    this.endpoint = endpoint;
    out.setOnCancelHandler(() -> end(null));
  }

  @Override
  public void onNext(AgentMessage message) {
    if (ended.get()) {
      return;
    }
    long sequence = message.getSequence();
    if (message.getKindCase() == AgentMessage.KindCase.REGISTER) {
      register(message.getRegister(), sequence);
      return;
    }
    if (agentId == null) {
      end(Status.FAILED_PRECONDITION.withDescription("the first message of an agent stream must be register, was " + message.getKindCase()));
      return;
    }
    switch (message.getKindCase()) {
      case PONG -> heartbeat.answered();
      case SHUTDOWN_NOTICE -> {
        draining = true;
        apply("shutdown_notice", sequence, context.agentRegistrar().drain(agentId));
      }
      case DEREGISTER -> deregister(message.getDeregister(), sequence);
      case UPDATE -> update(message.getUpdate(), sequence);
      default -> end(Status.INVALID_ARGUMENT.withDescription("agent message has no kind set"));
    }
  }

  private void register(Register r, long sequence) {
    String id = r.getAgentId();
    try {
      new AgentInfo(id, AgentStatus.ALIVE, Set.of()); // the agent-id rule of the model
    } catch (IllegalArgumentException e) {
      end(Status.INVALID_ARGUMENT.withDescription("register." + e.getMessage()));
      return;
    }
    if (agentId != null && !agentId.equals(id)) {
      end(Status.FAILED_PRECONDITION.withDescription("this stream is registered as agent '" + agentId + "', cannot register as '" + id + "'"));
      return;
    }
    List<ServiceInstance> instances = instances("register", r.getInstancesList(), id);
    if (instances == null) {
      return;
    }
    String leaving = endpoint.leaving();
    if (leaving != null) {
      end(Status.UNAVAILABLE.withDescription(leaving));
      return;
    }
    boolean first = agentId == null;
    agentId = id;
    AgentSession replaced = endpoint.claim(id, this);
    if (replaced != null && replaced != this) {
      replaced.supersede();
    }
    synchronized (registered) {
      registered.clear();
      instances.forEach(i -> registered.put(key(i.service(), i.id()), i));
    }
    attaching = true;
    apply("register", sequence, context.agentRegistrar().attach(id, registeredNow())).whenComplete((ok, e) -> attaching = false);
    if (first) { // the broker's agent liveness pings it from now on, and says when it timed out
      heartbeat = context.agentHeartbeats().watch(id, this::ping, reason -> end(Status.UNAVAILABLE.withDescription(reason)));
      if (ended.get()) {
        heartbeat.stop(); // ended while being registered
      }
    } else {
      heartbeat.answered();
    }
  }

  private void update(Update u, long sequence) {
    List<ServiceInstance> instances = instances("update", u.getInstancesList(), agentId);
    if (instances == null) {
      return;
    }
    synchronized (registered) {
      instances.forEach(i -> registered.put(key(i.service(), i.id()), i));
    }
    CompletableFuture<Long> write = u.getCommittedElsewhere() ? CompletableFuture.completedFuture(context.registry().revision())
        : attachedHere() ? context.agentRegistrar().update(agentId, instances, false)
        : context.agentRegistrar().attach(agentId, registeredNow()); // detached meanwhile (a leader's clean-up, an earlier write that did not commit)
    apply("update", sequence, write);
  }

  private boolean attachedHere() {
    return context.registry().state().agent(agentId).map(a -> a.status() != AgentStatus.DEAD && a.brokers().contains(context.brokerId()))
        .orElse(false);
  }

  /** The model instances of a message, owned by {@code owner}; null when one breaks a rule (the stream is then ended naming it). */
  private List<ServiceInstance> instances(String message, List<Instance> wire, String owner) {
    List<ServiceInstance> out = new ArrayList<>();
    for (int i = 0; i < wire.size(); i++) {
      try {
        out.add(ProtoMapping.fromProto(wire.get(i), owner));
      } catch (IllegalArgumentException e) {
        end(Status.INVALID_ARGUMENT.withDescription(message + ".instances[" + i + "]." + e.getMessage()));
        return null;
      }
    }
    return out;
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

  private void deregister(Deregister d, long sequence) {
    if (d.getInstanceIdsCount() > 0) {
      ServiceInstance.Builder rules; // the model's service-name and id rules
      try {
        rules = ServiceInstance.builder(d.getService());
      } catch (IllegalArgumentException e) {
        end(Status.INVALID_ARGUMENT.withDescription("deregister." + e.getMessage()));
        return;
      }
      for (int i = 0; i < d.getInstanceIdsCount(); i++) {
        try {
          rules.id(d.getInstanceIds(i));
        } catch (IllegalArgumentException e) {
          end(Status.INVALID_ARGUMENT.withDescription("deregister.instance_ids[" + i + "]: " + e.getMessage()));
          return;
        }
      }
    }
    synchronized (registered) { // a re-attach must not bring back what the agent removed
      if (d.getInstanceIdsCount() == 0) {
        registered.clear();
      } else {
        d.getInstanceIdsList().forEach(id -> registered.remove(key(d.getService(), id)));
      }
    }
    apply("deregister", sequence, d.getCommittedElsewhere() ? CompletableFuture.completedFuture(context.registry().revision())
        : d.getInstanceIdsCount() == 0 ? context.agentRegistrar().deregisterAll(agentId)
        : context.agentRegistrar().deregister(agentId, d.getService(), d.getInstanceIdsList()));
  }

  /**
   * Answers one agent message once its write is done: acks with the revision, or ends the stream
   * naming the refusal. A write that did not commit is the agent's to retry, never a reason to drop
   * its session: it gets a Nack and the stream stays (ending it would detach a live agent, and perhaps
   * leave it DEAD).
   */
  private CompletableFuture<Void> apply(String what, long sequence, CompletableFuture<Long> write) {
    return write.handle((revision, error) -> {
      if (error == null) {
        send(BrokerMessage.newBuilder().setAck(Ack.newBuilder().setRevision(revision).setWhat(what).setSequence(sequence)).build());
        return null;
      }
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      if (cause instanceof RegistrationRejectedException rejected) {
        end(StatusMapping.statusOf(rejected.reason()).withDescription(what + ": " + rejected.getMessage()));
        return null;
      }
      log.debug("Broker {}: {} of agent {} was not committed: {}", context.brokerId(), what, agentId, cause.toString());
      if (sequence != 0) {
        send(BrokerMessage.newBuilder().setNack(Nack.newBuilder().setWhat(what).setSequence(sequence).setCode(Status.Code.UNAVAILABLE.value())
            .setDescription(what + " was not committed: " + cause.getMessage() + "; resend it, here or on another broker")).build());
      }
      return null;
    });
  }

  /** Called by the broker's agent liveness every agent ping interval. */
  private void ping() {
    send(BrokerMessage.newBuilder().setPing(Ping.newBuilder().setSequence(++pingSequence).setIntervalMillis(context.agentPingInterval().toMillis()))
        .build());
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
      log.info("Agent {} is no longer attached to broker {} in the registry; attaching it again", id, context.brokerId());
      attaching = true;
      apply("register", 0, context.agentRegistrar().attach(id, registeredNow())).whenComplete((ok, e) -> attaching = false);
    }
  }

  private void send(BrokerMessage m) {
    boolean overflow = false;
    synchronized (out) {
      if (!ended.get() && !out.isCancelled()) {
        unread = out.isReady() ? 0 : unread + 1;
        overflow = unread > MAX_UNREAD;
        if (!overflow) {
          try {
            out.onNext(m);
          } catch (RuntimeException e) {
            overflow = false;
            end(null);
            return;
          }
        }
      }
    }
    if (overflow) {
      end(Status.RESOURCE_EXHAUSTED.withDescription("agent " + agentId + " read none of the broker's last " + MAX_UNREAD
          + " messages (pings and acks); its stream is closed: read the stream, then connect again"));
    }
  }

  /** This broker is leaving: tell the agent where to go (it registers there, then ends this stream), or end it now. */
  void leave(List<HostAndPort> brokers, boolean notify, Duration gracePeriod) {
    if (!notify) {
      end(Status.UNAVAILABLE.withDescription(endpoint.leaving()));
      return;
    }
    BrokerLeaving.Builder notice = BrokerLeaving.newBuilder().setGracePeriodMillis(gracePeriod.toMillis());
    brokers.forEach(b -> notice.addBrokers(b.toString()));
    send(BrokerMessage.newBuilder().setBrokerLeaving(notice).build());
  }

  @Override
  public void onError(Throwable t) {
    end(null); // the agent's stream broke: it is gone from this broker
  }

  @Override
  public void onCompleted() {
    end(Status.OK);
  }

  /** A newer stream of the same agent took over on this broker: end this one without detaching. */
  private void supersede() {
    if (ended.compareAndSet(false, true)) {
      cancelPings();
      closeStream(Status.ABORTED.withDescription("a newer stream of agent '" + agentId + "' replaced this one"));
    }
  }

  /** Ends the stream (with {@code status} if the stream is still open) and detaches the agent from this broker. */
  private void end(Status status) {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    cancelPings();
    if (status != null) {
      closeStream(status);
    }
    String id = agentId;
    if (id != null) {
      endpoint.release(id, this, () -> context.agentRegistrar().detach(id).whenComplete((r, e) -> {
        if (e != null) {
          log.warn("Broker {} could not detach agent {}: {}; the leader's clean-up will", context.brokerId(), id, e.toString());
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

  private void closeStream(Status status) {
    synchronized (out) {
      try {
        if (status.isOk()) {
          out.onCompleted();
        } else {
          out.onError(status.asRuntimeException());
        }
      } catch (RuntimeException e) {
        // already closed by the peer
      }
    }
  }

}
