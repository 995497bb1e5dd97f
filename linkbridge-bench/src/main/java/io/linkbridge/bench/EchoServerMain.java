package io.linkbridge.bench;

import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.linkbridge.testing.JavaCommand;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * A plain grpc-java server of {@code bench.Echo} in a process of its own, the instance the proxy
 * benchmark calls: {@code Unary} answers the request's bytes; {@code Stream} answers {@code n}
 * messages of {@code size} bytes (request: two ints), under flow control. Prints {@code ready}.
 * Usage: {@code EchoServerMain <port>}.
 */
public final class EchoServerMain {
  static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
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
  };
  static final MethodDescriptor<byte[], byte[]> UNARY = MethodDescriptor.<byte[], byte[]>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName("bench.Echo/Unary").setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
  static final MethodDescriptor<byte[], byte[]> STREAM = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.SERVER_STREAMING).setFullMethodName("bench.Echo/Stream").setRequestMarshaller(BYTES)
      .setResponseMarshaller(BYTES).build();

  private EchoServerMain() {}

  /** Starts the instance in a process of its own on {@code port}, its log in {@code log}, and waits until it serves. */
  static Process start(int port, Path log) throws IOException {
    Process p = new ProcessBuilder(JavaCommand.of("256m", EchoServerMain.class, List.of(String.valueOf(port))))
        .redirectError(log.toFile()).start();
    String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
    if (!"ready".equals(line)) {
      p.destroyForcibly();
      throw new IllegalStateException("the instance did not start: " + line + "; see " + log);
    }
    return p;
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    ServerServiceDefinition echo = ServerServiceDefinition.builder("bench.Echo")
        .addMethod(UNARY, ServerCalls.asyncUnaryCall((byte[] request, StreamObserver<byte[]> out) -> {
          out.onNext(request);
          out.onCompleted();
        }))
        .addMethod(STREAM, ServerCalls.asyncServerStreamingCall((byte[] request, StreamObserver<byte[]> plain) -> {
          ByteBuffer b = ByteBuffer.wrap(request);
          int n = b.getInt();
          byte[] message = new byte[b.getInt()];
          ServerCallStreamObserver<byte[]> out = (ServerCallStreamObserver<byte[]>) plain;
          int[] sent = {0};
          out.setOnReadyHandler(() -> { // flow control: write only while the stream takes more
            while (out.isReady() && sent[0] < n) {
              out.onNext(message);
              sent[0]++;
            }
            if (sent[0] == n) {
              sent[0]++;
              out.onCompleted();
            }
          });
        }))
        .build();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).addService(echo).build().start();
    System.out.println("ready");
    server.awaitTermination();
  }
}
