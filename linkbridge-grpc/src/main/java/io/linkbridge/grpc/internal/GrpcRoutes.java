package io.linkbridge.grpc.internal;

import io.linkbridge.Registry;
import io.linkbridge.ServiceInstance;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The instances taking calls for each gRPC service, as the proxy and its health service need them,
 * at a cost that follows what a change touched, not the size of the registry.
 *
 * <p>From the registry's events (on the apply thread, a few map updates per changed instance) it
 * keeps every instance that registered each gRPC service, as of its last change, and a version per
 * gRPC service that every change of one of those instances moves on. A route (those of them taking
 * calls, sorted by service then id) is built by the first call after its version moved, from those
 * instances only: a write to another service never makes a proxied call rebuild anything, and a
 * registry of 100,000 instances is never walked per call. Only the first build and a restored
 * snapshot walk the whole state.
 *
 * <p>A route is never stale for good: the apply thread updates the instances before it moves the
 * version, and a call reads the version before the instances, so a route built meanwhile is kept
 * under the older version and built again by the next call.
 */
final class GrpcRoutes implements AutoCloseable {
  /** The instances taking calls for one gRPC service, built at one version of it. */
  private record Route(long version, List<ServiceInstance> instances) {}

  private static final Comparator<ServiceInstance> ORDER = Comparator.comparing(ServiceInstance::service).thenComparing(ServiceInstance::id);

  private final Registry registry;
  /** Under this: each instance's gRPC services as last seen, by service/id. */
  private final Map<String, Set<String>> seen = new HashMap<>();
  /** gRPC service -> service/id -> every instance that registered it, as of its last change; absent when none does. */
  private volatile Map<String, Map<String, ServiceInstance>> servedBy = new ConcurrentHashMap<>();
  /** The version of each gRPC service in {@code servedBy}: a value of {@code clock}, so a version is never reused. */
  private final Map<String, Long> versions = new ConcurrentHashMap<>();
  private final AtomicLong clock = new AtomicLong();
  private final Map<String, Route> routes = new ConcurrentHashMap<>();
  private final List<Consumer<Set<String>>> listeners = new CopyOnWriteArrayList<>();
  private final AutoCloseable subscription;
  /** Under this: events that came while the first build ran (then null); the revision that build holds. */
  private List<RegistryEvent> early = new ArrayList<>();
  private long builtAt;

  GrpcRoutes(Registry registry) {
    this.registry = registry;
    this.subscription = registry.subscribe(this::onChange); // first, so no change between it and the first build is lost
    ClusterState state = registry.state();
    Map<String, Set<String>> seenNow = new HashMap<>();
    Map<String, Map<String, ServiceInstance>> index = indexOf(state, seenNow); // off the apply thread: it only queues meanwhile
    synchronized (this) {
      install(state, seenNow, index);
      for (RegistryEvent e : early) {
        apply(e);
      }
      early = null;
    }
  }

  /** The instances taking calls for {@code grpcService}, sorted by service then id; empty when none does. Any thread. */
  List<ServiceInstance> takingCalls(String grpcService) {
    Long version = versions.get(grpcService);
    if (version == null) {
      return List.of(); // no instance registers it: nothing is kept for names no one serves
    }
    Route route = routes.get(grpcService);
    if (route != null && route.version() == version) {
      return route.instances();
    }
    Map<String, ServiceInstance> instances = servedBy.get(grpcService);
    if (instances == null) {
      return List.of();
    }
    List<ServiceInstance> taking = new ArrayList<>();
    for (ServiceInstance i : instances.values()) {
      if (i.takesCalls()) {
        taking.add(i);
      }
    }
    taking.sort(ORDER);
    List<ServiceInstance> built = List.copyOf(taking);
    routes.merge(grpcService, new Route(version, built), (old, fresh) -> fresh.version() >= old.version() ? fresh : old);
    if (!versions.containsKey(grpcService)) {
      routes.remove(grpcService); // no one registers it any more: keep nothing for it
    }
    return built;
  }

  /** Whether some instance registered {@code grpcService} (taking calls or not). */
  boolean registered(String grpcService) {
    return servedBy.containsKey(grpcService);
  }

  /** Every gRPC service some instance registered. */
  Set<String> grpcServices() {
    return Set.copyOf(servedBy.keySet());
  }

  /**
   * Calls {@code listener} on the apply thread with the gRPC services each change touched (every one
   * after a restore). It must not block.
   */
  void addListener(Consumer<Set<String>> listener) {
    listeners.add(listener);
  }

  private synchronized void onChange(RegistryEvent event) {
    if (early != null) {
      early.add(event);
    } else {
      apply(event);
    }
  }

  /** Under this. */
  private void apply(RegistryEvent event) {
    Set<String> touched;
    if (event.type() == RegistryEvent.Type.STATE_RESTORED) {
      touched = new HashSet<>(servedBy.keySet());
      ClusterState state = registry.state(); // on the apply thread: no later state can be published meanwhile
      Map<String, Set<String>> seenNow = new HashMap<>();
      install(state, seenNow, indexOf(state, seenNow));
      touched.addAll(servedBy.keySet());
    } else if (event.instance() == null || event.revision() <= builtAt) {
      return; // an agent's record, or a change the first build holds already
    } else {
      ServiceInstance i = event.instance();
      String key = key(i);
      Set<String> now = event.type() == RegistryEvent.Type.INSTANCE_DEREGISTERED ? Set.of() : i.grpcServices();
      Set<String> before = now.isEmpty() ? seen.remove(key) : seen.put(key, now);
      Map<String, Map<String, ServiceInstance>> index = servedBy;
      touched = new HashSet<>(now);
      if (before != null) {
        for (String g : before) {
          touched.add(g);
          if (!now.contains(g)) { // only what it no longer serves: a service it still serves never looks unregistered meanwhile
            Map<String, ServiceInstance> instances = index.get(g);
            if (instances != null && instances.remove(key) != null && instances.isEmpty()) {
              index.remove(g);
            }
          }
        }
      }
      for (String g : now) {
        index.computeIfAbsent(g, k -> new ConcurrentHashMap<>()).put(key, i);
      }
      touched.forEach(this::moveOn);
    }
    if (!touched.isEmpty()) {
      listeners.forEach(l -> l.accept(touched));
    }
  }

  /** Every instance of {@code state} by the gRPC services it registered; fills {@code seenNow}. */
  private static Map<String, Map<String, ServiceInstance>> indexOf(ClusterState state, Map<String, Set<String>> seenNow) {
    Map<String, Map<String, ServiceInstance>> index = new ConcurrentHashMap<>();
    for (ServiceInstance i : state.allInstances()) {
      if (!i.grpcServices().isEmpty()) {
        seenNow.put(key(i), i.grpcServices());
        i.grpcServices().forEach(g -> index.computeIfAbsent(g, k -> new ConcurrentHashMap<>()).put(key(i), i));
      }
    }
    return index;
  }

  /** Under this: the index of a whole state takes over, so calls meanwhile see the old one, then every route is built again. */
  private void install(ClusterState state, Map<String, Set<String>> seenNow, Map<String, Map<String, ServiceInstance>> index) {
    seen.clear();
    seen.putAll(seenNow);
    servedBy = index;
    versions.keySet().retainAll(index.keySet());
    routes.keySet().retainAll(index.keySet());
    index.keySet().forEach(this::moveOn);
    builtAt = state.revision();
  }

  /** Under this: a change touched {@code grpcService}: its route is built again, or forgotten when no one registers it any more. */
  private void moveOn(String grpcService) {
    if (servedBy.containsKey(grpcService)) {
      versions.put(grpcService, clock.incrementAndGet());
    } else {
      versions.remove(grpcService);
      routes.remove(grpcService);
    }
  }

  private static String key(ServiceInstance i) {
    return i.service() + '/' + i.id();
  }

  @Override
  public void close() {
    try {
      subscription.close();
    } catch (Exception e) {
      // the registry is closing as well
    }
  }
}
