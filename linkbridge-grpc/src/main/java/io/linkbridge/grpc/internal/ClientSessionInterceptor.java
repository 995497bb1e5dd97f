package io.linkbridge.grpc.internal;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.linkbridge.spi.ClientSessions;
import java.net.SocketAddress;
import java.util.Optional;

/**
 * Admits every client call through the broker's local {@link ClientSessions}: beyond
 * {@code maxClients} a new client gets RESOURCE_EXHAUSTED, clients already served go on. A client is
 * identified by its {@link #CLIENT_ID} header (the Java client sends one), else by its address.
 * A streaming call (a watch) keeps the session open while it lasts.
 */
final class ClientSessionInterceptor implements ServerInterceptor {
  /** The header a client sends to identify itself across calls and connections. */
  static final Metadata.Key<String> CLIENT_ID = Metadata.Key.of("linkbridge-client-id", Metadata.ASCII_STRING_MARSHALLER);

  /** The calling client's session id, in the gRPC context of every admitted call. */
  private static final Context.Key<String> SESSION = Context.key("linkbridge-client-session");

  private final ClientSessions sessions;

  /** The session id of the client of the call this thread serves now. */
  static String clientId() {
    String id = SESSION.get();
    return id == null ? "unknown" : id;
  }

  ClientSessionInterceptor(ClientSessions sessions) {
    this.sessions = sessions;
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    String clientId = headers.get(CLIENT_ID);
    if (clientId == null || clientId.isBlank() || clientId.length() > 128) {
      SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
      clientId = "address:" + remote;
    }
    Optional<String> refused = sessions.admit(clientId);
    if (refused.isPresent()) {
      call.close(Status.RESOURCE_EXHAUSTED.withDescription(refused.get()), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    Context context = Context.current().withValue(SESSION, clientId);
    if (call.getMethodDescriptor().getType().serverSendsOneMessage()) {
      return Contexts.interceptCall(context, call, headers, next);
    }
    String id = clientId;
    sessions.streamOpened(id);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(Contexts.interceptCall(context, call, headers, next)) {
      @Override
      public void onComplete() {
        sessions.streamClosed(id);
        super.onComplete();
      }

      @Override
      public void onCancel() {
        sessions.streamClosed(id);
        super.onCancel();
      }
    };
  }
}
