package io.linkbridge.grpc.internal;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.linkbridge.HostAndPort;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.ProxyStats;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.spi.BrokerContext;
import io.linkbridge.spi.BrokerTransport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A broker's gRPC server: {@code linkbridge.v1.DiscoveryService} and {@code AgentService}, the standard
 * {@code grpc.health.v1.Health} service and server reflection, so stock tools (grpcurl,
 * grpc_health_probe) can talk to it; any other call goes through the {@link ServiceProxy} to an
 * instance of the service that serves it. With a proxy address, a second server there proxies every
 * call, and answers {@code grpc.health.v1.Health} for the routed services ({@link ProxyHealth}).
 *
 * <p>Threads: the broker's own services run on a pool of their own ({@code linkbridge-api-<broker>}),
 * as their calls may wait (a registration waits for its commit). Proxied calls run on the transport's
 * threads: their callbacks only pass bytes on and never wait, and a hop to another thread per
 * callback and direction would cost more than the proxying itself (docs/benchmarks.md).
 */
public final class BrokerServer implements BrokerTransport {
  private static final Logger log = LoggerFactory.getLogger(BrokerServer.class);
  /**
   * Clients and agents may send keepalive pings this often (theirs are at least 10s apart, as
   * grpc-java clamps them), even with no call open.
   */
  static final Duration PERMIT_KEEPALIVE = Duration.ofSeconds(5);
  /** The broker pings an idle connection after this, and drops it when no answer comes within {@link #KEEPALIVE_TIMEOUT}. */
  static final Duration KEEPALIVE = Duration.ofSeconds(30);
  static final Duration KEEPALIVE_TIMEOUT = Duration.ofSeconds(10);
  /**
   * A connection that resets more streams than this within {@link #RESET_WINDOW_SECONDS} is closed
   * (GOAWAY ENHANCE_YOUR_CALM): the HTTP/2 rapid-reset attack (CVE-2023-44487), which through a proxy
   * would also start a call to an instance per reset. Every cancel and every deadline a caller's
   * side expires is a reset: 3,000 a second leaves room for a busy connection whose calls time out
   * by the thousand while an instance is frozen, and still cuts a flood (hundreds of thousands a
   * second) within a fraction of a second. grpc-java sets no limit of its own.
   */
  static final int MAX_RESETS = 30_000;
  static final int RESET_WINDOW_SECONDS = 10;

  private final BrokerContext context;
  private final Server server;
  private final HealthStatusManager health;
  private final ServiceProxy proxy;
  /**
   * The dedicated proxy port, when the context names a proxy address (else null): its frame path,
   * and the grpc-java server on loopback it hands what it does not carry itself to, with its health.
   */
  private final FrameProxy frames;
  private final Server proxyServer;
  private final ProxyHealth proxyHealth;
  private final ExecutorService ownCalls;
  private final EventLoops loops;
  private final AtomicBoolean stopping = new AtomicBoolean();

  private BrokerServer(BrokerContext context, Server server, HealthStatusManager health, ServiceProxy proxy, FrameProxy frames,
      Server proxyServer, ProxyHealth proxyHealth, ExecutorService ownCalls, EventLoops loops) {
    this.context = context;
    this.server = server;
    this.health = health;
    this.proxy = proxy;
    this.frames = frames;
    this.proxyServer = proxyServer;
    this.proxyHealth = proxyHealth;
    this.ownCalls = ownCalls;
    this.loops = loops;
  }

  /**
   * Binds the context's address (and its proxy address, when set) and serves; throws
   * {@link LinkBridgeException} naming the address that could not be bound.
   */
  public static BrokerServer start(BrokerContext context) {
    HealthStatusManager health = new HealthStatusManager();
    AgentEndpoint agents = new AgentEndpoint(context.agents());
    EventLoops loops = new EventLoops(context.brokerId(), Runtime.getRuntime().availableProcessors());
    ServiceProxy proxy = new ServiceProxy(context.brokerId(), context.registry(), context.readiness(), context.proxy(), loops);
    ExecutorService ownCalls = ownCallsPool(context.brokerId());
    Server server = serverOn(context.address(), loops, ownCalls)
        .addService(MalformedRequestGuard.guard(ServerInterceptors.intercept(new DiscoveryEndpoint(context.registry(), context.watches()),
            new ClientSessionInterceptor(context.clients()))))
        .addService(MalformedRequestGuard.guard(agents.bindService()))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .addService(reflectionV1Alpha())
        .fallbackHandlerRegistry(proxy)
        .build();
    ProxyHealth proxyHealth = null;
    Server proxyServer = null;
    if (context.proxyAddress() != null) {
      proxyHealth = new ProxyHealth(context.brokerId(), proxy.routes(), context.readiness());
      // loopback only, an ephemeral port: it serves what the proxy port serves, to the frame path
      proxyServer = serverOn(new HostAndPort("127.0.0.1", 0), loops, ownCalls).addService(proxyHealth.service())
          .fallbackHandlerRegistry(proxy.everyMethod()).build();
    }
    HostAndPort binding = context.address();
    FrameProxy frames = null;
    try {
      server.start();
      if (proxyServer != null) {
        binding = context.proxyAddress();
        proxyServer.start();
        frames = new FrameProxy(context.brokerId(), proxy, loops, context.proxyAddress(),
            (InetSocketAddress) proxyServer.getListenSockets().get(0));
        frames.start();
      }
    } catch (IOException | RuntimeException e) {
      server.shutdownNow();
      if (frames != null) {
        frames.shutdownNow();
      }
      if (proxyServer != null) {
        proxyServer.shutdownNow();
      }
      if (proxyHealth != null) {
        proxyHealth.close();
      }
      proxy.close();
      ownCalls.shutdownNow();
      loops.shutdown();
      throw new LinkBridgeException("broker " + context.brokerId() + " cannot serve its " + (binding == context.address() ? "API" : "proxy port")
          + " on " + binding + ": " + e.getMessage() + "; pick a free address or stop the process using it", e);
    }
    Runnable followReadiness = () -> {
      ServingStatus status = context.readiness().notServing().isEmpty() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
      health.setStatus("", status);
      health.setStatus(DiscoveryServiceGrpc.SERVICE_NAME, status);
      health.setStatus(AgentServiceGrpc.SERVICE_NAME, status);
    };
    context.readiness().addListener(followReadiness); // NOT_SERVING until caught up, and after a storage failure
    followReadiness.run();
    log.info("Broker {} serves linkbridge.v1 on {}{}", context.brokerId(), context.address(), proxyServer == null ? ""
        : ", and proxies every call on " + context.proxyAddress());
    return new BrokerServer(context, server, health, proxy, frames, proxyServer, proxyHealth, ownCalls, loops);
  }

  /** A server on {@code address} on the broker's own threads, with the settings both of its ports share. */
  private static NettyServerBuilder serverOn(HostAndPort address, EventLoops loops, ExecutorService ownCalls) {
    return NettyServerBuilder.forAddress(new InetSocketAddress(address.host(), address.port()))
        .bossEventLoopGroup(loops.boss()).workerEventLoopGroup(loops.workers()).channelType(loops.serverChannelType())
        .directExecutor() // method lookup, and then the proxied calls (see the class comment)
        .callExecutor(new ServerCallExecutorSupplier() {
          @Override
          public <ReqT, RespT> Executor getExecutor(ServerCall<ReqT, RespT> call, Metadata headers) {
            return ServiceProxy.isProxied(call.getMethodDescriptor()) ? null : ownCalls;
          }
        })
        .flowControlWindow(ServiceProxy.FLOW_CONTROL_WINDOW) // what a proxied call may hold of what its caller sends
        .permitKeepAliveTime(PERMIT_KEEPALIVE.toMillis(), TimeUnit.MILLISECONDS).permitKeepAliveWithoutCalls(true)
        .keepAliveTime(KEEPALIVE.toMillis(), TimeUnit.MILLISECONDS).keepAliveTimeout(KEEPALIVE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .maxRstFramesPerWindow(MAX_RESETS, RESET_WINDOW_SECONDS);
  }

  /** Threads made as calls need them and ended after a minute idle, as grpc-java's own default executor does. */
  private static ExecutorService ownCallsPool(String brokerId) {
    AtomicInteger n = new AtomicInteger();
    return Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "linkbridge-api-" + brokerId + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** grpcui, Postman, Evans and older grpcurl speak only the v1alpha reflection protocol, deprecated in grpc-java. */
  @SuppressWarnings("deprecation")
  private static io.grpc.BindableService reflectionV1Alpha() {
    return io.grpc.protobuf.services.ProtoReflectionService.newInstance();
  }

  @Override
  public void shutdown() {
    stopServing();
    server.shutdown();
    if (proxyServer != null) {
      frames.shutdown();
      proxyServer.shutdown();
    }
  }

  /**
   * Proxied calls still open end UNAVAILABLE ("call again through another broker") before the server
   * cancels what else is open.
   */
  @Override
  public void shutdownNow() {
    stopServing();
    proxy.close();
    server.shutdownNow();
    if (proxyServer != null) {
      frames.shutdownNow();
      proxyServer.shutdownNow();
    }
    try {
      awaitTermination(Duration.ofSeconds(5)); // releases the threads once terminated; else a later awaitTermination does
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public List<ProxyStats> proxyStats() {
    return proxy.stats();
  }

  @Override
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean done = server.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS)
        && (proxyServer == null || (frames.awaitTermination(deadline - System.nanoTime())
            && proxyServer.awaitTermination(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)));
    if (done) {
      // every call's last callback has run: the own calls' pool and the network threads can go
      ownCalls.shutdown();
      loops.shutdown();
    }
    return done;
  }

  /** Once, whichever shutdown comes first (a node calls shutdownNow after shutdown): health NOT_SERVING for good. */
  private void stopServing() {
    if (stopping.compareAndSet(false, true)) {
      health.enterTerminalState();
      if (proxyHealth != null) {
        proxyHealth.close();
      }
    }
  }

  @Override
  public String toString() {
    return "BrokerServer{" + context.brokerId() + " on " + context.address() + "}";
  }
}
