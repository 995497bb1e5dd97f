package io.linkbridge.grpc.internal;

import io.grpc.BindableService;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.linkbridge.Registry;
import io.linkbridge.ServiceInstance;
import io.linkbridge.spi.Readiness;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

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
  private static final long REFRESH_DELAY_MILLIS = 20;

  private final Registry registry;
  private final Readiness readiness;
  private final HealthStatusManager health = new HealthStatusManager();
  private final ScheduledExecutorService refresher;
  private final AtomicBoolean refreshPending = new AtomicBoolean();
  private final AutoCloseable subscription;
  /** The gRPC services given a status, to clear those no instance registers any more. Refresher thread only. */
  private Set<String> known = Set.of();

  ProxyHealth(String brokerId, Registry registry, Readiness readiness) {
    this.registry = registry;
    this.readiness = readiness;
    this.refresher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "linkbridge-proxy-health-" + brokerId);
      t.setDaemon(true);
      return t;
    });
    this.subscription = registry.subscribe(e -> refreshSoon()); // first, so no change between them and the first refresh is lost
    readiness.addListener(this::refreshSoon);
    refresh();
  }

  BindableService service() {
    return health.getHealthService();
  }

  private void refreshSoon() {
    if (refreshPending.compareAndSet(false, true)) {
      try {
        refresher.schedule(this::refresh, REFRESH_DELAY_MILLIS, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        refreshPending.set(false); // closed
      }
    }
  }

  private synchronized void refresh() {
    refreshPending.set(false);
    Map<String, Boolean> serving = new HashMap<>();
    for (ServiceInstance i : registry.state().allInstances()) {
      for (String g : i.grpcServices()) {
        serving.merge(g, i.takesCalls(), Boolean::logicalOr);
      }
    }
    boolean brokerServes = readiness.notServing().isEmpty(); // not catching up, not leaving: callers should move off a leaving broker
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, brokerServes ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    serving.forEach((g, up) -> health.setStatus(g, up && brokerServes ? ServingStatus.SERVING : ServingStatus.NOT_SERVING));
    for (String g : known) {
      if (!serving.containsKey(g)) {
        health.clearStatus(g);
      }
    }
    known = new HashSet<>(serving.keySet());
  }

  /** Every health status NOT_SERVING for good (the broker is leaving), and no more refreshes. */
  @Override
  public void close() {
    try {
      subscription.close();
    } catch (Exception e) {
      // the registry is closing as well
    }
    refresher.shutdownNow();
    health.enterTerminalState();
  }
}
