package io.linkbridge.it.process;

import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * An instance of {@code test.Echo} in a process of its own, to be frozen or killed: {@code Unary}
 * answers {@code <name>:<request>}. Arguments: port, name. Prints {@code ready} once it listens.
 */
public final class EchoInstanceMain {
  public static final MethodDescriptor.Marshaller<String> TEXT = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };
  public static final MethodDescriptor<String, String> UNARY = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("test.Echo/Unary").setRequestMarshaller(TEXT).setResponseMarshaller(TEXT)
      .build();

  private EchoInstanceMain() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    String name = args[1];
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .addService(ServerServiceDefinition.builder("test.Echo").addMethod(UNARY, ServerCalls.asyncUnaryCall((String request,
            io.grpc.stub.StreamObserver<String> out) -> {
          out.onNext(name + ":" + request);
          out.onCompleted();
        })).build())
        .build().start();
    System.out.println("ready");
    server.awaitTermination();
  }
}
