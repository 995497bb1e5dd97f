package io.linkbridge.grpc.internal;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.linkbridge.grpc.v1.AgentMessage;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.BrokerMessage;
import io.linkbridge.spi.AgentSessions;

/** {@code linkbridge.v1.AgentService}: each agent stream adapted to one of the broker's core agent sessions. */
final class AgentEndpoint extends AgentServiceGrpc.AgentServiceImplBase {
  private final AgentSessions sessions;

  AgentEndpoint(AgentSessions sessions) {
    this.sessions = sessions;
  }

  @Override
  public StreamObserver<AgentMessage> connect(StreamObserver<BrokerMessage> responses) {
    return new AgentStream(sessions, (ServerCallStreamObserver<BrokerMessage>) responses);
  }
}
