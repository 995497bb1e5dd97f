package io.linkbridge.grpc;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.linkbridge.grpc.v1.Ack;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.grpc.v1.Instance;
import io.linkbridge.grpc.v1.Pong;
import io.linkbridge.grpc.v1.Register;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** An agent speaking the raw protocol, to test the broker side message by message. */
final class RawAgent {
  final List<Ack> acks = new CopyOnWriteArrayList<>();
  final AtomicInteger pings = new AtomicInteger();
  final AtomicReference<Status> closedWith = new AtomicReference<>();
  final AtomicBoolean answerPings = new AtomicBoolean(true);
  private final StreamObserver<AgentMessage> requests;

  RawAgent(ManagedChannel channel) {
    requests = AgentServiceGrpc.newStub(channel).connect(new StreamObserver<>() {
      @Override
      public void onNext(BrokerMessage m) {
        if (m.hasAck()) {
          acks.add(m.getAck());
        } else if (m.hasPing()) {
          pings.incrementAndGet();
          if (answerPings.get()) {
            send(AgentMessage.newBuilder().setPong(Pong.newBuilder().setSequence(m.getPing().getSequence())).build());
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        closedWith.set(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        closedWith.set(Status.OK);
      }
    });
  }

  RawAgent register(String agentId, Instance... instances) {
    return send(AgentMessage.newBuilder().setRegister(Register.newBuilder().setAgentId(agentId).addAllInstances(List.of(instances))).build());
  }

  synchronized RawAgent send(AgentMessage m) {
    requests.onNext(m);
    return this;
  }

  void cancel() {
    requests.onError(Status.CANCELLED.withDescription("test agent gone").asRuntimeException());
  }
}
