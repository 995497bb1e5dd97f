package io.linkbridge.raft.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.atomix.cluster.MemberId;
import io.atomix.cluster.messaging.MessagingException;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.linkbridge.HostAndPort;
import io.linkbridge.testing.FreePorts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What a Raft peer, and a client on the wrong port, are told when something goes wrong. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RaftTransportErrorsTest {
  private final MemberId a = MemberId.from("broker-1");
  private final MemberId b = MemberId.from("broker-2");
  private final HostAndPort raftA = new HostAndPort("127.0.0.1", FreePorts.next());
  private final HostAndPort raftB = new HostAndPort("127.0.0.1", FreePorts.next());
  private final Map<MemberId, HostAndPort> members = Map.of(a, raftA, b, raftB);
  private final GrpcMessaging messagingA = new GrpcMessaging(a, "c1", raftA, new HostAndPort("127.0.0.1", 5001), members, Duration.ofSeconds(5),
      new RaftMessageInterceptor() {});
  private final GrpcMessaging messagingB = new GrpcMessaging(b, "c1", raftB, null, members, Duration.ofSeconds(5), new RaftMessageInterceptor() {});

  @AfterEach
  void stop() {
    messagingA.stop();
    messagingB.stop();
  }

  private Throwable sendToB(String subject) {
    CompletableFuture<byte[]> reply = messagingA.send(subject, new byte[] {1}, m -> m, r -> r, b, Duration.ofSeconds(5));
    try {
      reply.join();
    } catch (CompletionException e) {
      return e.getCause();
    }
    throw new AssertionError("no failure");
  }

  @Test
  void aHandlerThatFailsOnThePeer_isARemoteHandlerFailure_withThePeersMessage_notAConnectException() {
    messagingA.start();
    messagingB.start();
    messagingB.subscribe("append", m -> m, (byte[] m) -> CompletableFuture.<byte[]>failedFuture(new IllegalStateException("log closed")), r -> r);

    Throwable failure = sendToB("append");

    assertThat(failure).isInstanceOf(MessagingException.RemoteHandlerFailure.class).isNotInstanceOf(ConnectException.class)
        .hasMessageContaining("broker-2").hasMessageContaining("log closed");
  }

  @Test
  void aSubjectThePeerHasNoHandlerFor_isAConnectException_whichAtomixRetries() {
    messagingA.start();
    messagingB.start();
    assertThat(sendToB("raft-poll")).isInstanceOf(ConnectException.class).hasMessageContaining("no handler");
  }

  @Test
  void aPeerThatIsDown_isAConnectException() {
    messagingA.start();
    assertThat(sendToB("append")).isInstanceOf(ConnectException.class);
  }

  @Test
  void aClientCallingTheRaftPort_isToldItIsTheRaftPort_andWhereTheApiIs() {
    messagingA.start();
    messagingB.start();
    assertThat(callRaftPort(raftA)).satisfies(s -> {
      assertThat(s.getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
      assertThat(s.getDescription()).contains("broker broker-1's Raft port (" + raftA + ")", "its API address 127.0.0.1:5001",
          "linkbridge.v1.AgentService/Connect");
    });
    assertThat(callRaftPort(raftB).getDescription()).contains("broker broker-2's Raft port", "serves none");
  }

  private static Status callRaftPort(HostAndPort raft) {
    ManagedChannel channel = NettyChannelBuilder.forAddress(raft.host(), raft.port()).usePlaintext().build();
    try {
      MethodDescriptor<byte[], byte[]> agentConnect = MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("linkbridge.v1.AgentService/Connect")
          .setRequestMarshaller(Bytes.INSTANCE).setResponseMarshaller(Bytes.INSTANCE).build();
      try {
        ClientCalls.blockingUnaryCall(channel, agentConnect, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), new byte[0]);
      } catch (StatusRuntimeException e) {
        return e.getStatus();
      }
      throw new AssertionError("the Raft port served an agent call");
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void storageProblem_namesThePathTheFreeSpaceAndTheFix_onlyWhenAtomixCannotStartASegment() {
    Path dir = Path.of("/data/broker-1/raft");
    assertThat(AtomixRaftEngine.storageProblem("broker-1", dir, 3L * 32 * 1024 * 1024, 32 * 1024 * 1024)).isEmpty();
    assertThat(AtomixRaftEngine.storageProblem("broker-1", dir, 12L << 20, 32 * 1024 * 1024)).get().asString()
        .contains("broker-1", "/data/broker-1/raft", "12 MiB free", "3 x logSegmentSize (96 MiB)", "logSegmentSize");
  }

  private enum Bytes implements MethodDescriptor.Marshaller<byte[]> {
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
