package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.Ack;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.BrokerLeaving;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.grpc.v1.Deregister;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.Nack;
import io.linkbridge.grpc.v1.Ping;
import io.linkbridge.grpc.v1.Update;
import io.linkbridge.spi.AgentSessions;
import io.linkbridge.spi.AgentSink;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One agent's gRPC stream, adapted to a core agent session: wire messages become session calls
 * (their instances checked against the model's rules, an error naming the field), and the session's
 * messages become {@code BrokerMessage}s, written one at a time.
 */
final class AgentStream implements StreamObserver<AgentMessage>, AgentSink {
  private final ServerCallStreamObserver<BrokerMessage> out;
  private final AgentSessions.Session session;
  private String agentId; // the stream's thread only

  AgentStream(AgentSessions sessions, ServerCallStreamObserver<BrokerMessage> out) {
    this.out = out;
    this.session = sessions.open(this);
    out.setOnCancelHandler(() -> session.closed(false));
  }

  @Override
  public void onNext(AgentMessage m) {
    long sequence = m.getSequence();
    switch (m.getKindCase()) {
      case REGISTER -> {
        List<ServiceInstance> instances = instances("register", m.getRegister().getInstancesList(), m.getRegister().getAgentId());
        if (instances != null) {
          agentId = m.getRegister().getAgentId();
          session.register(agentId, m.getRegister().getIncarnation(), instances, m.getVersion(), sequence);
        }
      }
      case UPDATE -> {
        Update u = m.getUpdate();
        List<ServiceInstance> instances = instances("update", u.getInstancesList(), agentId == null ? "" : agentId);
        if (instances != null) {
          session.update(instances, u.getCommittedElsewhere(), m.getVersion(), sequence);
        }
      }
      case PONG -> session.pong();
      case SHUTDOWN_NOTICE -> session.shutdownNotice(m.getVersion(), sequence);
      case DEREGISTER -> {
        Deregister d = m.getDeregister();
        session.deregister(d.getService(), d.getInstanceIdsList(), d.getCommittedElsewhere(), m.getVersion(), sequence);
      }
      default -> session.invalid("agent message has no kind set");
    }
  }

  /** The model instances of a message, owned by {@code owner}; null when one breaks a rule (the session then ends naming it). */
  private List<ServiceInstance> instances(String message, List<Instance> wire, String owner) {
    List<ServiceInstance> result = new ArrayList<>();
    for (int i = 0; i < wire.size(); i++) {
      try {
        result.add(ProtoMapping.fromProto(wire.get(i), owner));
      } catch (IllegalArgumentException e) {
        session.invalid(message + ".instances[" + i + "]." + e.getMessage());
        return null;
      }
    }
    return result;
  }

  @Override
  public void onError(Throwable t) {
    session.closed(false); // the agent's stream broke: it is gone from this broker
  }

  @Override
  public void onCompleted() {
    session.closed(true);
  }

  @Override
  public boolean isReady() {
    return out.isReady();
  }

  @Override
  public void ack(long sequence, String what, long revision) {
    write(BrokerMessage.newBuilder().setAck(Ack.newBuilder().setRevision(revision).setWhat(what).setSequence(sequence)).build());
  }

  @Override
  public void nack(long sequence, String what, String description) {
    write(BrokerMessage.newBuilder().setNack(Nack.newBuilder().setWhat(what).setSequence(sequence).setCode(Status.Code.UNAVAILABLE.value())
        .setDescription(description)).build());
  }

  @Override
  public void ping(long sequence, Duration interval) {
    write(BrokerMessage.newBuilder().setPing(Ping.newBuilder().setSequence(sequence).setIntervalMillis(interval.toMillis())).build());
  }

  @Override
  public void brokerLeaving(List<HostAndPort> brokers, Duration gracePeriod) {
    BrokerLeaving.Builder notice = BrokerLeaving.newBuilder().setGracePeriodMillis(gracePeriod.toMillis());
    brokers.forEach(b -> notice.addBrokers(b.toString()));
    write(BrokerMessage.newBuilder().setBrokerLeaving(notice).build());
  }

  /** The session serialises its calls; gRPC needs one writer at a time, which that gives. */
  private void write(BrokerMessage m) {
    if (!out.isCancelled()) {
      out.onNext(m);
    }
  }

  @Override
  public void end(Ending ending) {
    if (ending.kind() == Kind.COMPLETED) {
      out.onCompleted();
      return;
    }
    Status status = switch (ending.kind()) {
      case COMPLETED -> Status.OK;
      case INVALID -> Status.INVALID_ARGUMENT;
      case OUT_OF_ORDER -> Status.FAILED_PRECONDITION;
      case REFUSED -> StatusMapping.statusOf(ending.refusal());
      case SUPERSEDED -> Status.ABORTED;
      case TIMED_OUT, BROKER_LEAVING -> Status.UNAVAILABLE;
      case NOT_READING -> Status.RESOURCE_EXHAUSTED;
    };
    out.onError(status.withDescription(ending.description()).asRuntimeException());
  }
}
