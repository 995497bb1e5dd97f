package io.linkbridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.linkbridge.ServiceInstance;
import io.linkbridge.testing.FreePorts;
import io.linkbridge.testing.NodeLeakCheck;
import io.linkbridge.testing.TestCluster;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A caller in another language: Node.js with @grpc/grpc-js ({@code src/test/node/caller.js}) calls a
 * Java service by name through a broker's proxy, as a service that cannot embed the library would.
 * Needs {@code node} and {@code npm ci} in {@code src/test/node}; .ci/run does both and sets
 * {@code LINKBRIDGE_REQUIRE_NODE=1}, so there a missing Node.js fails the test instead of skipping it.
 */
@ExtendWith(NodeLeakCheck.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class NonJavaCallerTest {
  static final Path CALLER = Path.of("src/test/node/caller.js");
  static final Path GRPC_JS = Path.of("src/test/node/node_modules/@grpc/grpc-js/package.json");
  static final Metadata.Key<String> TEST_HEADER = Metadata.Key.of("x-test", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> ECHO_HEADER = Metadata.Key.of("x-echo", Metadata.ASCII_STRING_MARSHALLER);
  static final MethodDescriptor<String, String> STREAM = MethodDescriptor.<String, String>newBuilder()
      .setType(MethodDescriptor.MethodType.SERVER_STREAMING).setFullMethodName("test.Echo/ServerStream")
      .setRequestMarshaller(RollingRestartTest.TEXT).setResponseMarshaller(RollingRestartTest.TEXT).build();

  @TempDir Path dir;

  private static void requireNode() {
    String missing = null;
    if (!Files.exists(GRPC_JS)) {
      missing = "@grpc/grpc-js is not installed in " + GRPC_JS.getParent().getParent().getParent().toAbsolutePath();
    } else {
      try {
        Process p = new ProcessBuilder("node", "--version").redirectErrorStream(true).start();
        if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
          missing = "node --version failed";
        }
      } catch (IOException e) {
        missing = "no node on the PATH (" + e.getMessage() + ")";
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        missing = "interrupted";
      }
    }
    if (missing != null) {
      String how = missing + ": install Node.js, then run `npm ci` in linkbridge-it/src/test/node";
      if ("1".equals(System.getenv("LINKBRIDGE_REQUIRE_NODE"))) {
        fail(how);
      }
      Assumptions.abort(how);
    }
  }

  private static Server echo(int port) throws IOException {
    ServerServiceDefinition service = ServerServiceDefinition.builder("test.Echo")
        .addMethod(RollingRestartTest.ECHO, ServerCalls.asyncUnaryCall((String request, StreamObserver<String> out) -> {
          if (request.equals("fail")) {
            out.onError(Status.FAILED_PRECONDITION.withDescription("instance refuses").asRuntimeException());
          } else {
            out.onNext("echo:" + request);
            out.onCompleted();
          }
        }))
        .addMethod(STREAM, ServerCalls.asyncServerStreamingCall((String request, StreamObserver<String> out) -> {
          for (int i = 0; i < Integer.parseInt(request); i++) {
            out.onNext("m" + i);
          }
          out.onCompleted();
        }))
        .build();
    ServerInterceptor echoHeader = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void sendHeaders(Metadata responseHeaders) {
            responseHeaders.put(ECHO_HEADER, String.valueOf(headers.get(TEST_HEADER)));
            super.sendHeaders(responseHeaders);
          }
        }, headers);
      }
    };
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).addService(ServerInterceptors.intercept(service, echoHeader))
        .build().start();
  }

  /** Through the broker's API address, and through its proxy port (the frame path). */
  @ParameterizedTest(name = "through the {0}")
  @ValueSource(strings = {"API address", "proxy port"})
  void aNodeJsCaller_reachesAJavaServiceByNameThroughTheBroker(String path) throws Exception {
    requireNode();
    int port = FreePorts.next();
    Server instance = echo(port);
    try (TestCluster cluster = TestCluster.serving(dir, 1, b -> b).withProxyPorts().start()) {
      cluster.node(0).registry().register(ServiceInstance.builder("echo").id("echo-1").endpoint("127.0.0.1", port).grpcService("test.Echo")
          .build()).get(10, TimeUnit.SECONDS);
      Process caller = new ProcessBuilder("node", CALLER.toString(), path.equals("proxy port") ? cluster.proxy(0) : cluster.api(0)).redirectErrorStream(true).start();
      String out;
      try {
        await().atMost(Duration.ofSeconds(60)).until(() -> !caller.isAlive());
        out = new String(caller.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      } finally {
        caller.destroyForcibly();
      }
      System.out.println("node caller printed:\n" + out);
      assertThat(caller.exitValue()).as(out).isZero();
      List<String> lines = out.lines().toList();
      assertThat(lines).as("metadata both ways").contains("{\"call\":\"unary\",\"code\":\"OK\",\"answer\":\"echo:hello\",\"header\":\"from-node\"}");
      assertThat(lines).as("the instance's error, unchanged")
          .contains("{\"call\":\"refused\",\"code\":\"FAILED_PRECONDITION\",\"details\":\"instance refuses\"}");
      assertThat(lines).as("every message of a stream").contains("{\"call\":\"stream\",\"code\":\"OK\",\"messages\":50}");
      assertThat(lines).filteredOn(l -> l.startsWith("{\"call\":\"unknown\"")).singleElement().asString()
          .contains("\"code\":\"UNAVAILABLE\"").contains("no.Such");
    } finally {
      instance.shutdownNow();
    }
  }
}
