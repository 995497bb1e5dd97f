package io.linkbridge.grpc.internal;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.grpc.v1.AgentServiceGrpc;
import io.linkbridge.grpc.v1.DiscoveryServiceGrpc;
import io.linkbridge.spi.BrokerContext;
import io.linkbridge.spi.BrokerTransport;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A broker's gRPC server: {@code linkbridge.v1.DiscoveryService} and {@code AgentService}, the standard
 * {@code grpc.health.v1.Health} service and server reflection, so stock tools (grpcurl,
 * grpc_health_probe) can talk to it.
 */
public final class BrokerServer implements BrokerTransport {
  private static final Logger log = LoggerFactory.getLogger(BrokerServer.class);
  /** Registry events kept for watches that resume from a revision. */
  static final int HISTORY_EVENTS = 10_000;

  private final BrokerContext context;
  private final Server server;
  private final HealthStatusManager health;
  private final AutoCloseable historySubscription;
  private final ExecutorService watchExecutor;
  private final AtomicBoolean stopping = new AtomicBoolean();

  private BrokerServer(BrokerContext context, Server server, HealthStatusManager health, AutoCloseable historySubscription,
      ExecutorService watchExecutor) {
    this.context = context;
    this.server = server;
    this.health = health;
    this.historySubscription = historySubscription;
    this.watchExecutor = watchExecutor;
  }

  /** Binds the context's address and serves; throws {@link LinkBridgeException} naming the address. */
  public static BrokerServer start(BrokerContext context) {
    EventHistory history = new EventHistory(HISTORY_EVENTS, context.registry().revision());
    AutoCloseable subscription = context.registry().subscribe(history); // before any watch: see EventHistory
    ExecutorService watchExecutor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "linkbridge-watch-" + context.brokerId());
      t.setDaemon(true);
      return t;
    });
    HealthStatusManager health = new HealthStatusManager();
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress(context.address().host(), context.address().port()))
        .addService(ServerInterceptors.intercept(new DiscoveryEndpoint(context.registry(), context.readiness(), history, watchExecutor),
            new ClientSessionInterceptor(context.clients())))
        .addService(new AgentEndpoint(context))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build();
    try {
      server.start();
    } catch (IOException e) {
      watchExecutor.shutdownNow();
      closeQuietly(subscription);
      throw new LinkBridgeException("broker " + context.brokerId() + " cannot serve its API on " + context.address() + ": " + e.getMessage()
          + "; pick a free address or stop the process using it", e);
    }
    Runnable followReadiness = () -> {
      ServingStatus status = context.readiness().notServing().isEmpty() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
      health.setStatus("", status);
      health.setStatus(DiscoveryServiceGrpc.SERVICE_NAME, status);
      health.setStatus(AgentServiceGrpc.SERVICE_NAME, status);
    };
    context.readiness().addListener(followReadiness); // NOT_SERVING until caught up, and after a storage failure
    followReadiness.run();
    log.info("Broker {} serves linkbridge.v1 on {}", context.brokerId(), context.address());
    return new BrokerServer(context, server, health, subscription, watchExecutor);
  }

  @Override
  public void shutdown() {
    stopServing();
    server.shutdown();
    watchExecutor.shutdown();
  }

  @Override
  public void shutdownNow() {
    stopServing();
    server.shutdownNow();
    watchExecutor.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    return server.awaitTermination(timeout.toNanos(), TimeUnit.NANOSECONDS)
        && watchExecutor.awaitTermination(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
  }

  /** Once, whichever shutdown comes first (a node calls shutdownNow after shutdown): health NOT_SERVING, no more events. */
  private void stopServing() {
    if (stopping.compareAndSet(false, true)) {
      health.enterTerminalState();
      closeQuietly(historySubscription);
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      log.debug("closing {} failed: {}", c, e.toString());
    }
  }

  @Override
  public String toString() {
    return "BrokerServer{" + context.brokerId() + " on " + context.address() + "}";
  }
}
