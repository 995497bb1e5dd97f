package io.linkbridge.grpc.internal;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bytes that do not parse as the request message end that call with INVALID_ARGUMENT naming the
 * method, and one WARN line in the broker's log (at most one a second), instead of gRPC's UNKNOWN and
 * a stack trace per message. Other calls are not affected. Requests are parsed here, on the call's
 * thread, exactly once; responses are untouched.
 */
final class MalformedRequestGuard {
  private static final Logger log = LoggerFactory.getLogger(MalformedRequestGuard.class);
  private static final long WARN_EVERY_NANOS = 1_000_000_000L;
  private static final AtomicLong lastWarning = new AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);

  /** Passes the request's bytes through unparsed, so the guard can parse them itself. */
  private static final MethodDescriptor.Marshaller<InputStream> RAW = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(InputStream value) {
      return value;
    }

    @Override
    public InputStream parse(InputStream stream) {
      return stream;
    }
  };

  private MalformedRequestGuard() {}

  /** {@code service} with every request parsed under the guard. */
  static ServerServiceDefinition guard(ServerServiceDefinition service) {
    ServiceDescriptor original = service.getServiceDescriptor();
    List<ServerMethodDefinition<InputStream, ?>> methods = new ArrayList<>();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName()).setSchemaDescriptor(original.getSchemaDescriptor());
    for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
      ServerMethodDefinition<InputStream, ?> guarded = guard(m);
      methods.add(guarded);
      descriptor.addMethod(guarded.getMethodDescriptor());
    }
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(out::addMethod);
    return out.build();
  }

  private static <Q, A> ServerMethodDefinition<InputStream, A> guard(ServerMethodDefinition<Q, A> definition) {
    MethodDescriptor<Q, A> method = definition.getMethodDescriptor();
    MethodDescriptor<InputStream, A> raw = method.toBuilder(RAW, method.getResponseMarshaller()).build();
    ServerCallHandler<InputStream, A> handler = (call, headers) -> {
      Typed<Q, A> typed = new Typed<>(call, method);
      ServerCall.Listener<Q> next = definition.getServerCallHandler().startCall(typed, headers);
      return new ServerCall.Listener<>() {
        private boolean refused;

        @Override
        public void onMessage(InputStream message) {
          if (refused) {
            return;
          }
          Q parsed;
          try {
            parsed = method.parseRequest(message);
          } catch (RuntimeException e) {
            refused = true;
            typed.refuse(method, e);
            next.onCancel(); // the handler learns its call is over (an agent session detaches), and writes nothing more
            return;
          }
          next.onMessage(parsed);
        }

        @Override
        public void onHalfClose() {
          if (!refused) {
            next.onHalfClose();
          }
        }

        @Override
        public void onCancel() {
          if (!refused) {
            next.onCancel();
          }
        }

        @Override
        public void onComplete() {
          if (!refused) {
            next.onComplete();
          }
        }

        @Override
        public void onReady() {
          next.onReady();
        }
      };
    };
    return ServerMethodDefinition.create(raw, handler);
  }

  private static Status refusal(ServerCall<?, ?> call, MethodDescriptor<?, ?> method, RuntimeException e) {
    Throwable cause = e.getCause() == null ? e : e.getCause();
    String why = "the request of " + method.getFullMethodName() + " is not a valid protobuf message of its type: " + cause.getMessage();
    long now = System.nanoTime();
    long last = lastWarning.get();
    if (now - last >= WARN_EVERY_NANOS && lastWarning.compareAndSet(last, now)) {
      log.warn("Refused a malformed request from {}: {}", call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), why);
    }
    return Status.INVALID_ARGUMENT.withDescription(why + "; check that client and broker use the same linkbridge.v1 protos");
  }

  /**
   * The raw call as the typed call the service's handler expects. Its writes are serialised with the
   * guard's refusal (a handler may be writing from another thread when a later message turns out
   * malformed), and after the refusal the handler's writes are dropped: one writer, one close.
   */
  private static final class Typed<Q, A> extends ServerCall<Q, A> {
    private final ServerCall<InputStream, A> raw;
    private final MethodDescriptor<Q, A> method;
    private boolean closed; // guarded by this

    Typed(ServerCall<InputStream, A> raw, MethodDescriptor<Q, A> method) {
      this.raw = raw;
      this.method = method;
    }

    synchronized void refuse(MethodDescriptor<?, ?> method, RuntimeException e) {
      if (!closed) {
        closed = true;
        raw.close(refusal(raw, method, e), new Metadata());
      }
    }

    @Override
    public void request(int numMessages) {
      raw.request(numMessages);
    }

    @Override
    public synchronized void sendHeaders(Metadata headers) {
      if (!closed) {
        raw.sendHeaders(headers);
      }
    }

    @Override
    public synchronized void sendMessage(A message) {
      if (!closed) {
        raw.sendMessage(message);
      }
    }

    @Override
    public boolean isReady() {
      return raw.isReady();
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!closed) {
        closed = true;
        raw.close(status, trailers);
      }
    }

    @Override
    public boolean isCancelled() {
      return raw.isCancelled();
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      raw.setMessageCompression(enabled);
    }

    @Override
    public void setCompression(String compressor) {
      raw.setCompression(compressor);
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {
      raw.setOnReadyThreshold(numBytes);
    }

    @Override
    public SecurityLevel getSecurityLevel() {
      return raw.getSecurityLevel();
    }

    @Override
    public Attributes getAttributes() {
      return raw.getAttributes();
    }

    @Override
    public String getAuthority() {
      return raw.getAuthority();
    }

    @Override
    public MethodDescriptor<Q, A> getMethodDescriptor() {
      return method;
    }
  }
}
