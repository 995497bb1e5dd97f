package io.linkbridge.grpc.internal;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.Ack;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.grpc.v1.Deregister;
import io.linkbridge.grpc.v1.Pong;
import io.linkbridge.grpc.v1.Register;
import io.linkbridge.grpc.v1.ShutdownNotice;
import io.linkbridge.grpc.v1.Update;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One agent's stream to one broker: sends register, answers pings, and completes a future per
 * message kind when the broker acknowledges it. Reports its loss once to {@code onLost}.
 */
final class BrokerLink {
  private final HostAndPort broker;
  private final ManagedChannel channel;
  private final StreamObserver<AgentMessage> requests;
  private final Map<String, CompletableFuture<Long>> awaitingAck = new ConcurrentHashMap<>();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();

  BrokerLink(HostAndPort broker, Consumer<BrokerLink> onLost) {
    this.broker = broker;
    this.channel = NettyChannelBuilder.forAddress(broker.host(), broker.port()).usePlaintext().build();
    this.requests = AgentServiceGrpc.newStub(channel).connect(new StreamObserver<>() {
      @Override
      public void onNext(BrokerMessage m) {
        if (m.hasPing()) {
          send(AgentMessage.newBuilder().setPong(Pong.newBuilder().setSequence(m.getPing().getSequence())).build());
        } else if (m.hasAck()) {
          Ack ack = m.getAck();
          CompletableFuture<Long> f = awaitingAck.remove(ack.getWhat());
          if (f != null) {
            f.complete(ack.getRevision());
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        lost(Status.fromThrowable(t), onLost);
      }

      @Override
      public void onCompleted() {
        lost(Status.UNAVAILABLE.withDescription("broker " + broker + " ended the stream"), onLost);
      }
    });
  }

  private void lost(Status status, Consumer<BrokerLink> onLost) {
    if (closed.complete(status)) {
      awaitingAck.values().forEach(f -> f.completeExceptionally(status.asRuntimeException()));
      awaitingAck.clear();
      channel.shutdownNow();
      onLost.accept(this);
    }
  }

  HostAndPort broker() {
    return broker;
  }

  boolean isOpen() {
    return !closed.isDone();
  }

  CompletableFuture<Long> register(String agentId, List<ServiceInstance> instances) {
    return request("register", AgentMessage.newBuilder().setRegister(Register.newBuilder().setAgentId(agentId)
        .addAllInstances(ProtoMapping.toProto(instances))).build());
  }

  /** Adds or replaces one instance; {@code committedElsewhere}: the other broker committed it, this one only records it. */
  CompletableFuture<Long> update(ServiceInstance instance, boolean committedElsewhere) {
    return request("update", AgentMessage.newBuilder().setUpdate(Update.newBuilder().addInstances(ProtoMapping.toProto(instance))
        .setCommittedElsewhere(committedElsewhere)).build());
  }

  CompletableFuture<Long> shutdownNotice(long graceMillis) {
    return request("shutdown_notice", AgentMessage.newBuilder().setShutdownNotice(ShutdownNotice.newBuilder().setGracePeriodMillis(graceMillis)).build());
  }

  /** Removes one instance; {@code committedElsewhere}: the other broker committed it, this one only records it. */
  CompletableFuture<Long> deregister(String service, String instanceId, boolean committedElsewhere) {
    return request("deregister", AgentMessage.newBuilder().setDeregister(Deregister.newBuilder().setService(service).addInstanceIds(instanceId)
        .setCommittedElsewhere(committedElsewhere)).build());
  }

  CompletableFuture<Long> deregisterAll() {
    return request("deregister", AgentMessage.newBuilder().setDeregister(Deregister.getDefaultInstance()).build());
  }

  private CompletableFuture<Long> request(String what, AgentMessage message) {
    CompletableFuture<Long> f = new CompletableFuture<>();
    if (!isOpen()) {
      return CompletableFuture.failedFuture(closed.join().asRuntimeException());
    }
    awaitingAck.put(what, f);
    send(message);
    return f;
  }

  private synchronized void send(AgentMessage m) {
    if (isOpen()) {
      try {
        requests.onNext(m);
      } catch (RuntimeException e) {
        // the stream just closed; onError reports it
      }
    }
  }

  /** Ends the stream cleanly (the broker then detaches this agent) and releases the channel. */
  void close() {
    if (closed.complete(Status.OK)) {
      synchronized (this) {
        try {
          requests.onCompleted();
        } catch (RuntimeException e) {
          // already closed
        }
      }
      channel.shutdown();
      try {
        channel.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      channel.shutdownNow();
    }
  }
}
