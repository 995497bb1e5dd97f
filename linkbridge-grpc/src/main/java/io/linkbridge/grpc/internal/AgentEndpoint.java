package io.linkbridge.grpc.internal;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.spi.BrokerContext;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ScheduledExecutorService;

/** {@code linkbridge.v1.AgentService}: one {@link AgentSession} per agent stream. */
final class AgentEndpoint extends AgentServiceGrpc.AgentServiceImplBase {
  private final BrokerContext context;
  private final ScheduledExecutorService pinger;
  /** The current stream of each agent on this broker: a detach from an older stream must not undo a newer attach. */
  private final ConcurrentMap<String, AgentSession> sessions = new ConcurrentHashMap<>();

  AgentEndpoint(BrokerContext context, ScheduledExecutorService pinger) {
    this.context = context;
    this.pinger = pinger;
  }

  @Override
  public StreamObserver<AgentMessage> connect(StreamObserver<BrokerMessage> responses) {
    return new AgentSession(context, (ServerCallStreamObserver<BrokerMessage>) responses, pinger, sessions);
  }
}
