package io.linkbridge.raft.internal;

import io.atomix.cluster.MemberId;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;

/**
 * The wire format of the Raft transport: one bidirectional gRPC method carrying byte frames.
 * A request is {@code [4][id][cluster id][subject][sender][payload]}; a reply {@code [1][id][payload]};
 * a failed request {@code [2][id][message]}; a request the receiver refused because it does not know
 * the sender's cluster or member {@code [3][id][reason]}; a request for a subject the receiver has no
 * handler for {@code [5][id][message]}. Type 0 was a request without a cluster id (before cluster
 * ids); it is refused.
 */
final class RaftFrames {
  static final String SERVICE = "linkbridge.raft.v1.RaftTransport";
  static final byte REQUEST_WITHOUT_CLUSTER = 0;
  static final byte REPLY = 1;
  static final byte ERROR = 2;
  static final byte REFUSED = 3;
  static final byte REQUEST = 4;
  /** The receiver has no handler for the subject (it is starting or stopping); older brokers read it as ERROR. */
  static final byte NO_HANDLER = 5;

  static final MethodDescriptor<byte[], byte[]> EXCHANGE = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
      .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Exchange"))
      .setRequestMarshaller(BytesMarshaller.INSTANCE)
      .setResponseMarshaller(BytesMarshaller.INSTANCE)
      .build();

  private RaftFrames() {}

  static byte[] request(long id, String clusterId, String subject, String sender, byte[] payload) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(payload.length + clusterId.length() + subject.length() + 48);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(REQUEST);
      out.writeLong(id);
      out.writeUTF(clusterId);
      out.writeUTF(subject);
      out.writeUTF(sender);
      out.write(payload);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static byte[] reply(byte type, long id, byte[] body) {
    return ByteBuffer.allocate(9 + body.length).put(type).putLong(id).put(body).array();
  }

  /** The exception Atomix retries on: {@link TimeoutException} for a deadline, {@link ConnectException} otherwise. */
  static Throwable translate(Throwable t, String subject, MemberId to) {
    Status status = t instanceof StatusRuntimeException sre ? sre.getStatus() : Status.fromThrowable(t);
    String what = subject + " to " + to + ": " + status.getCode() + (status.getDescription() == null ? "" : " " + status.getDescription());
    if (status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
      return new TimeoutException(what);
    }
    ConnectException e = new ConnectException(what);
    e.initCause(t);
    return e;
  }

  private enum BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    INSTANCE;

    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
