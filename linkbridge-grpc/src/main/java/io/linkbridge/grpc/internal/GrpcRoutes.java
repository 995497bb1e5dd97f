package io.linkbridge.grpc.internal;

import io.linkbridge.Registry;
import io.linkbridge.ServiceInstance;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The instances taking calls for each gRPC service, as the proxy and its health service need them,
 * at a cost that follows the services a change touches, not the size of the registry.
 *
 * <p>From the registry's events (on the apply thread, a few map updates per changed instance) it
 * keeps which Link Bridge services have instances that registered each gRPC service, and a version
 * per gRPC service that every change of one of those instances moves on. A route is built from the
 * registry's current state, over the Link Bridge services that serve it only, and kept until its
 * version moves: a write to another service never makes a proxied call rebuild anything, and a
 * registry of 100,000 instances is never walked per call. Only a restored snapshot rebuilds the
 * index, once, from the whole state.
 *
 * <p>Why reading the version before the state is enough: the state machine publishes a state before
 * it tells the listeners, so a route built after reading version {@code v} comes from a state at least
 * as new as every change counted in {@code v}; a change counted later moves the version, and the next
 * call builds the route again.
 */
final class GrpcRoutes implements AutoCloseable {
  /** The instances taking calls for one gRPC service, built at one version of it. */
  private record Route(long version, List<ServiceInstance> instances) {}

  private final Registry registry;
  /** Apply thread (and the constructor), under this: each instance's gRPC services as last seen, by service/id. */
  private final Map<String, Set<String>> seen = new HashMap<>();
  /** gRPC service -> Link Bridge service -> how many of its instances registered it; a gRPC service no one registers is absent. */
  private volatile Map<String, Map<String, Integer>> servedBy = new ConcurrentHashMap<>();
  /** The version of each gRPC service in {@code servedBy}: a value of {@code clock}, so a version is never reused. */
  private final Map<String, Long> versions = new ConcurrentHashMap<>();
  private final AtomicLong clock = new AtomicLong();
  private final Map<String, Route> routes = new ConcurrentHashMap<>();
  private final List<Consumer<Set<String>>> listeners = new CopyOnWriteArrayList<>();
  private final AutoCloseable subscription;
  /** The revision the index was built at: events up to it are in it already. Under this. */
  private long builtAt;

  GrpcRoutes(Registry registry) {
    this.registry = registry;
    this.subscription = registry.subscribe(this::onChange); // first, so no change between it and the first build is lost
    synchronized (this) {
      rebuild(registry.state());
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
    Map<String, Integer> services = servedBy.get(grpcService);
    if (services == null) {
      return List.of();
    }
    ClusterState state = registry.state();
    List<ServiceInstance> instances = new ArrayList<>();
    for (String service : new TreeSet<>(services.keySet())) {
      for (ServiceInstance i : state.instances(service)) {
        if (i.takesCalls() && i.grpcServices().contains(grpcService)) {
          instances.add(i);
        }
      }
    }
    List<ServiceInstance> built = List.copyOf(instances);
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
    Set<String> touched;
    if (event.type() == RegistryEvent.Type.STATE_RESTORED) {
      touched = new HashSet<>(servedBy.keySet());
      rebuild(registry.state()); // on the apply thread: no later state can be published meanwhile
      touched.addAll(servedBy.keySet());
    } else if (event.instance() == null || event.revision() <= builtAt) {
      return; // an agent's record, or a change the first build holds already
    } else {
      ServiceInstance i = event.instance();
      Set<String> now = event.type() == RegistryEvent.Type.INSTANCE_DEREGISTERED ? Set.of() : i.grpcServices();
      Set<String> before = now.isEmpty() ? seen.remove(key(i)) : seen.put(key(i), now);
      touched = new HashSet<>(now);
      if (before != null) {
        touched.addAll(before);
        before.forEach(g -> count(servedBy, g, i.service(), -1));
      }
      now.forEach(g -> count(servedBy, g, i.service(), 1));
      touched.forEach(this::moveOn);
    }
    if (!touched.isEmpty()) {
      listeners.forEach(l -> l.accept(touched));
    }
  }

  /** Under this: the index from a whole state, built aside and then swapped in, so calls meanwhile see the old one. */
  private void rebuild(ClusterState state) {
    Map<String, Map<String, Integer>> fresh = new ConcurrentHashMap<>();
    seen.clear();
    for (ServiceInstance i : state.allInstances()) {
      if (!i.grpcServices().isEmpty()) {
        seen.put(key(i), i.grpcServices());
        i.grpcServices().forEach(g -> count(fresh, g, i.service(), 1));
      }
    }
    servedBy = fresh;
    versions.keySet().retainAll(servedBy.keySet());
    routes.keySet().retainAll(servedBy.keySet());
    servedBy.keySet().forEach(this::moveOn);
    builtAt = state.revision();
  }

  /** Under this: one instance of {@code service} more ({@code delta} 1) or fewer (-1) registers {@code grpcService}. */
  private static void count(Map<String, Map<String, Integer>> index, String grpcService, String service, int delta) {
    Map<String, Integer> services = index.computeIfAbsent(grpcService, g -> new ConcurrentHashMap<>());
    services.merge(service, delta, (a, b) -> a + b == 0 ? null : a + b);
    if (services.isEmpty()) {
      index.remove(grpcService);
    }
  }

  /** Under this: a change touched {@code grpcService}: its routes are built again, or forgotten when no one registers it any more. */
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
