package io.linkbridge.raft.internal;

import io.grpc.HandlerRegistry;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.linkbridge.HostAndPort;
import java.io.ByteArrayInputStream;
import java.io.InputStream;

/**
 * What the Raft port answers to any method but its own: an agent or client pointed at the Raft port
 * by mistake gets UNIMPLEMENTED saying which broker's Raft port this is and where that broker serves
 * agents and clients, instead of gRPC's bare "Method not found". Thread-safe.
 */
final class WrongPortAnswer extends HandlerRegistry {
  private final String description;

  /** @param apiAddress where this broker serves its API, or null for a Raft-only broker */
  WrongPortAnswer(String brokerId, HostAndPort raftAddress, HostAndPort apiAddress) {
    this.description = "this is broker " + brokerId + "'s Raft port (" + raftAddress + "), for the brokers only; agents and clients connect to "
        + (apiAddress == null ? "the API address of a broker that serves one (broker " + brokerId + " serves none)"
            : "its API address " + apiAddress);
  }

  /** The description every misdirected call gets. */
  String description() {
    return description;
  }

  @Override
  public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
    MethodDescriptor<InputStream, InputStream> method = MethodDescriptor.<InputStream, InputStream>newBuilder()
        .setType(MethodDescriptor.MethodType.UNKNOWN)
        .setFullMethodName(methodName)
        .setRequestMarshaller(Ignored.INSTANCE)
        .setResponseMarshaller(Ignored.INSTANCE)
        .build();
    ServerCallHandler<InputStream, InputStream> refuse = (call, headers) -> {
      call.close(Status.UNIMPLEMENTED.withDescription(description + " (called " + methodName + ")"), new Metadata());
      return new ServerCall.Listener<>() {};
    };
    return ServerMethodDefinition.create(method, refuse);
  }

  /** Reads nothing: the call is closed before any message. */
  private enum Ignored implements MethodDescriptor.Marshaller<InputStream> {
    INSTANCE;

    @Override
    public InputStream stream(InputStream value) {
      return value;
    }

    @Override
    public InputStream parse(InputStream stream) {
      return new ByteArrayInputStream(new byte[0]);
    }
  }
}
