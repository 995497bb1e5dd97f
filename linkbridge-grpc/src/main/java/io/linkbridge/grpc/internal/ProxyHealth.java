package io.linkbridge.grpc.internal;

import io.grpc.BindableService;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.linkbridge.spi.Readiness;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code grpc.health.v1.Health} on the dedicated proxy port, answered from the broker's registry for
 * the services it routes to: a gRPC service is SERVING while at least one instance that registered
 * it takes calls, NOT_SERVING while some registered it but none takes calls, and unknown (Check:
 * NOT_FOUND, Watch: SERVICE_UNKNOWN) once none has. The empty name follows the broker: SERVING while
 * it serves (caught up, storage trusted, not leaving); while it does not, every status is
 * NOT_SERVING, so health-checking callers move to another broker. Watch streams get each change.
 * Refreshed off the apply thread, within {@value #REFRESH_DELAY_MILLIS} ms of a change.
 */
final class ProxyHealth implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProxyHealth.class);
  private static final long REFRESH_DELAY_MILLIS = 20;

  private final GrpcRoutes routes;
  private final Readiness readiness;
  private final HealthStatusManager health = new HealthStatusManager();
  private final ScheduledExecutorService refresher;
  private final AtomicBoolean refreshPending = new AtomicBoolean();
  /** The gRPC services changes touched since the last refresh; null: every one (the broker's readiness changed). */
  private Set<String> touched; // guarded by this
  /** The gRPC services given a status, to clear those no instance registers any more; guarded by refreshing. */
  private final Set<String> known = new HashSet<>();
  private final Object refreshing = new Object();

  ProxyHealth(String brokerId, GrpcRoutes routes, Readiness readiness) {
    this.routes = routes;
    this.readiness = readiness;
    this.refresher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "linkbridge-proxy-health-" + brokerId);
      t.setDaemon(true);
      return t;
    });
    routes.addListener(this::touched); // first, so no change between them and the first refresh is lost
    readiness.addListener(() -> touched(null));
    touched(null);
    refresh();
  }

  BindableService service() {
    return health.getHealthService();
  }

  /** {@code grpcServices} changed (null: any may have): refreshed within {@value #REFRESH_DELAY_MILLIS} ms. Any thread. */
  private void touched(Set<String> grpcServices) {
    synchronized (this) {
      if (grpcServices == null || touched == null) {
        touched = null;
      } else {
        touched.addAll(grpcServices);
      }
    }
    if (refreshPending.compareAndSet(false, true)) {
      try {
        refresher.schedule(this::refresh, REFRESH_DELAY_MILLIS, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        refreshPending.set(false); // closed
      }
    }
  }

  /** The status of each gRPC service a change touched; of every one after the broker's readiness changed. */
  private void refresh() {
    synchronized (refreshing) {
      try {
        refreshTouched();
      } catch (RuntimeException e) { // a periodic task that throws is never run again: refresh every status next time instead
        log.warn("Proxy health: refreshing the statuses failed; every one is refreshed again", e);
        touched(null);
      }
    }
  }

  private void refreshTouched() {
    refreshPending.set(false);
    Set<String> changed;
    synchronized (this) {
      changed = touched;
      touched = new HashSet<>();
    }
    boolean brokerServes = readiness.notServing().isEmpty(); // not catching up, not leaving: callers should move off a leaving broker
    if (changed == null) {
      health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, brokerServes ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
      changed = new HashSet<>(known);
      changed.addAll(routes.grpcServices());
    }
    for (String g : changed) {
      if (routes.registered(g)) {
        health.setStatus(g, brokerServes && !routes.takingCalls(g).isEmpty() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
        known.add(g);
      } else if (known.remove(g)) {
        health.clearStatus(g);
      }
    }
  }

  /** Every health status NOT_SERVING for good (the broker is leaving), and no more refreshes. */
  @Override
  public void close() {
    refresher.shutdownNow();
    health.enterTerminalState();
  }
}
