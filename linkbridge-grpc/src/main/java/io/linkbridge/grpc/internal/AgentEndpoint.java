package io.linkbridge.grpc.internal;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.spi.BrokerContext;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** {@code linkbridge.v1.AgentService}: one {@link AgentSession} per agent stream. */
final class AgentEndpoint extends AgentServiceGrpc.AgentServiceImplBase {
  private final BrokerContext context;
  /** The current stream of each agent on this broker: a detach from an older stream must not undo a newer attach. */
  private final ConcurrentMap<String, AgentSession> sessions = new ConcurrentHashMap<>();

  AgentEndpoint(BrokerContext context) {
    this.context = context;
  }

  @Override
  public StreamObserver<AgentMessage> connect(StreamObserver<BrokerMessage> responses) {
    return new AgentSession(context, (ServerCallStreamObserver<BrokerMessage>) responses, sessions);
  }
}
