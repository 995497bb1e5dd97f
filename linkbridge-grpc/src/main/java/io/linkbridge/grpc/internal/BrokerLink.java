package io.linkbridge.grpc.internal;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.Ack;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.grpc.v1.Deregister;
import io.linkbridge.grpc.v1.Nack;
import io.linkbridge.grpc.v1.Pong;
import io.linkbridge.grpc.v1.Register;
import io.linkbridge.grpc.v1.ShutdownNotice;
import io.linkbridge.grpc.v1.Update;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One agent's stream to one broker: sends register, answers pings, and completes a future per
 * message when the broker acknowledges it (matched by the message's sequence). Remembers when it last
 * heard from the broker and the ping interval the broker announced, so the agent can tell a silent
 * broker. Reports when its stream first reaches the broker to {@link Events#ready}, its loss once to
 * {@link Events#lost}, and a broker's BrokerLeaving to {@link Events#leaving}; all run on gRPC's
 * callback threads. Thread-safe.
 */
final class BrokerLink {
  /** What a link tells its agent. Must not block. */
  interface Events {
    /**
     * The stream is up on a connection the broker answered: what is sent from now on reaches it.
     * Before, a message only waits in the channel (a broker that never answers never gets it). Once.
     */
    void ready(BrokerLink link);

    /** The stream broke or the broker ended it (not after {@link #close()}). */
    void lost(BrokerLink link);

    /** The broker shuts down within {@code graceMillis}; {@code others} are the other brokers' API addresses. */
    void leaving(BrokerLink link, List<String> others, long graceMillis);
  }

  private final HostAndPort broker;
  private final ManagedChannel channel;
  private final StreamObserver<AgentMessage> requests;
  private final Map<Long, CompletableFuture<Long>> awaitingAck = new ConcurrentHashMap<>(); // by message sequence
  private final AtomicLong sequence = new AtomicLong();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();
  private volatile long lastHeardNanos = System.nanoTime();
  private volatile long pingIntervalMillis; // 0 until the broker announces one
  private volatile boolean leaving;
  private final AtomicBoolean ready = new AtomicBoolean();

  BrokerLink(HostAndPort broker, Events events) {
    this.broker = broker;
    this.channel = BrokerChannels.open(broker, null);
    this.requests = AgentServiceGrpc.newStub(channel).connect(new ClientResponseObserver<AgentMessage, BrokerMessage>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<AgentMessage> call) {
        call.setOnReadyHandler(() -> {
          if (ready.compareAndSet(false, true)) {
            events.ready(BrokerLink.this);
          }
        });
      }

      @Override
      public void onNext(BrokerMessage m) {
        lastHeardNanos = System.nanoTime();
        if (m.hasPing()) {
          if (m.getPing().getIntervalMillis() > 0) {
            pingIntervalMillis = m.getPing().getIntervalMillis();
          }
          send(AgentMessage.newBuilder().setPong(Pong.newBuilder().setSequence(m.getPing().getSequence())).build());
        } else if (m.hasAck()) {
          Ack ack = m.getAck();
          CompletableFuture<Long> f = awaitingAck.remove(ack.getSequence()); // 0: the broker re-registered on its own
          if (f != null) {
            f.complete(ack.getRevision());
          }
        } else if (m.hasNack()) { // not committed: the caller retries; the stream and its session go on
          Nack nack = m.getNack();
          CompletableFuture<Long> f = awaitingAck.remove(nack.getSequence());
          if (f != null) {
            f.completeExceptionally(Status.fromCodeValue(nack.getCode()).withDescription(nack.getDescription()).asRuntimeException());
          }
        } else if (m.hasBrokerLeaving() && !leaving) {
          leaving = true;
          events.leaving(BrokerLink.this, m.getBrokerLeaving().getBrokersList(), m.getBrokerLeaving().getGracePeriodMillis());
        }
      }

      @Override
      public void onError(Throwable t) {
        if (ended(Status.fromThrowable(t))) {
          events.lost(BrokerLink.this);
        }
      }

      @Override
      public void onCompleted() {
        if (ended(Status.UNAVAILABLE.withDescription("broker " + broker + " ended the stream"))) {
          events.lost(BrokerLink.this);
        }
      }
    });
  }

  /** Marks the link ended with {@code status} and fails what waits for an ack; false if it had ended already. */
  private boolean ended(Status status) {
    if (!closed.complete(status)) {
      return false;
    }
    failAwaiting(status);
    channel.shutdownNow();
    return true;
  }

  private void failAwaiting(Status status) {
    for (Long seq : List.copyOf(awaitingAck.keySet())) {
      CompletableFuture<Long> f = awaitingAck.remove(seq);
      if (f != null) {
        f.completeExceptionally(status.asRuntimeException());
      }
    }
  }

  /** When the broker last sent anything (System.nanoTime). */
  long lastHeardNanos() {
    return lastHeardNanos;
  }

  /** The agent itself stood still: restart the silence window. */
  void heardNow() {
    lastHeardNanos = System.nanoTime();
  }

  /** The ping interval the broker announced, or 0 if it did not (older brokers). */
  long pingIntervalMillis() {
    return pingIntervalMillis;
  }

  /** The broker said it shuts down. */
  boolean isLeaving() {
    return leaving;
  }

  HostAndPort broker() {
    return broker;
  }

  boolean isOpen() {
    return !closed.isDone();
  }

  /** Runs {@code action} with the status the link ended with, once it ends (at once if it has). */
  void whenClosed(Consumer<Status> action) {
    closed.thenAccept(action);
  }

  /** Registers what the agent's run {@code incarnation} holds at {@code version}. */
  CompletableFuture<Long> register(String agentId, String incarnation, List<ServiceInstance> instances, long version) {
    return request(AgentMessage.newBuilder().setRegister(Register.newBuilder().setAgentId(agentId).setIncarnation(incarnation)
        .addAllInstances(ProtoMapping.toProto(instances))).setVersion(version));
  }

  /** Adds or replaces one instance; {@code committedElsewhere}: the other broker committed it, this one only records it. */
  CompletableFuture<Long> update(ServiceInstance instance, boolean committedElsewhere, long version) {
    return request(AgentMessage.newBuilder().setUpdate(Update.newBuilder().addInstances(ProtoMapping.toProto(instance))
        .setCommittedElsewhere(committedElsewhere)).setVersion(version));
  }

  CompletableFuture<Long> shutdownNotice(long version) {
    return request(AgentMessage.newBuilder().setShutdownNotice(ShutdownNotice.getDefaultInstance()).setVersion(version));
  }

  /** Removes one instance; {@code committedElsewhere}: the other broker committed it, this one only records it. */
  CompletableFuture<Long> deregister(String service, String instanceId, boolean committedElsewhere, long version) {
    return request(AgentMessage.newBuilder().setDeregister(Deregister.newBuilder().setService(service).addInstanceIds(instanceId)
        .setCommittedElsewhere(committedElsewhere)).setVersion(version));
  }

  CompletableFuture<Long> deregisterAll(long version) {
    return request(AgentMessage.newBuilder().setDeregister(Deregister.getDefaultInstance()).setVersion(version));
  }

  /** Sends a message numbered for its Ack; the future completes with the revision the Ack carries. */
  private CompletableFuture<Long> request(AgentMessage.Builder message) {
    CompletableFuture<Long> f = new CompletableFuture<>();
    if (!isOpen()) {
      return CompletableFuture.failedFuture(closed.join().asRuntimeException());
    }
    long seq = sequence.incrementAndGet();
    awaitingAck.put(seq, f);
    send(message.setSequence(seq).build());
    if (!isOpen() && awaitingAck.remove(seq) != null) { // lost meanwhile: lost() may have missed this future
      f.completeExceptionally(closed.join().asRuntimeException());
    }
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

  /** Ends the stream cleanly (the broker then detaches this agent) and releases the channel; waits up to 2s. Idempotent. */
  void close() {
    if (closed.complete(Status.CANCELLED.withDescription("the agent closed its stream to broker " + broker))) {
      failAwaiting(closed.join());
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
