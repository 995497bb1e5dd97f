package io.linkbridge.grpc.internal;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.Watch;
import io.linkbridge.grpc.LinkBridgeNameResolverProvider;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Resolves one service to the addresses of its instances that take calls, from a watch through the
 * brokers of the target (the client of that broker list is shared with every other resolver of it).
 * Every event of the watch gives the channel the new list; a SHUTDOWN_NOTICE takes the draining
 * instance out before it is deregistered. Each address carries the instance's weight, metadata and id
 * as attributes ({@link LinkBridgeNameResolverProvider#WEIGHT} ...). The watch retries for as long as
 * the channel lives; until it first resolves, each failed attempt is reported to the channel, so
 * calls fail fast with UNAVAILABLE naming the brokers tried. Addresses are built (a DNS lookup for a
 * host name) on the client's callback thread, never on gRPC's synchronization context.
 */
public final class ServiceNameResolver extends NameResolver {
  private final String service;
  private final List<String> brokers;
  private final String target;
  private final SynchronizationContext syncContext;
  // on the watch's callback thread, one event at a time:
  private final Map<String, ServiceInstance> takingCalls = new TreeMap<>(); // by instance id
  private final Map<String, Resolved> addresses = new HashMap<>(); // by instance id
  private volatile boolean resolved;
  // on the synchronization context:
  private GrpcClient client;
  private WatchSession watch;
  private Listener2 listener;
  private boolean shutdown;

  private record Resolved(ServiceInstance instance, EquivalentAddressGroup address) {}

  public ServiceNameResolver(String service, List<String> brokers, SynchronizationContext syncContext, String target) {
    this.service = service;
    this.brokers = List.copyOf(brokers);
    this.syncContext = syncContext;
    this.target = target;
  }

  @Override
  public String getServiceAuthority() {
    return service;
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    client = SharedClients.acquire(brokers);
    watch = client.watch(service, this::onEvent, this::onState);
  }

  private void onState(Watch.State state, LinkBridgeException cause) {
    if (cause == null || (state == Watch.State.RECONNECTING && resolved)) {
      return; // once resolved, the channel keeps the instances it knows while the watch reconnects
    }
    report(StatusOr.fromStatus(Status.UNAVAILABLE.withDescription("name resolution of " + target + " failed: " + cause.getMessage()
        + (state == Watch.State.CLOSED ? "" : "; retrying")).withCause(cause)));
  }

  private void onEvent(InstanceEvent e) {
    switch (e.type()) {
      case SNAPSHOT -> {
        takingCalls.clear();
        e.instances().stream().filter(ServiceInstance::takesCalls).forEach(i -> takingCalls.put(i.id(), i));
      }
      case ADDED, UPDATED -> {
        if (e.instance().takesCalls()) {
          takingCalls.put(e.instance().id(), e.instance());
        } else {
          takingCalls.remove(e.instance().id());
        }
      }
      case REMOVED, SHUTDOWN_NOTICE -> takingCalls.remove(e.instance().id());
      default -> {
        return;
      }
    }
    addresses.keySet().retainAll(takingCalls.keySet());
    List<EquivalentAddressGroup> list = new ArrayList<>();
    for (ServiceInstance i : takingCalls.values()) {
      Resolved r = addresses.get(i.id());
      if (r == null || !r.instance().equals(i)) { // only a new or changed instance is looked up again
        r = new Resolved(i, addressOf(i));
        addresses.put(i.id(), r);
      }
      list.add(r.address());
    }
    resolved = true;
    report(list.isEmpty()
        ? StatusOr.fromStatus(Status.UNAVAILABLE.withDescription("no instance of " + service + " takes calls now (brokers " + String.join(",", brokers) + ")"))
        : StatusOr.fromValue(list));
  }

  private static EquivalentAddressGroup addressOf(ServiceInstance i) {
    return new EquivalentAddressGroup(new InetSocketAddress(i.host(), i.port()), Attributes.newBuilder()
        .set(LinkBridgeNameResolverProvider.WEIGHT, i.weight())
        .set(LinkBridgeNameResolverProvider.METADATA, i.metadata())
        .set(LinkBridgeNameResolverProvider.INSTANCE_ID, i.id())
        .build());
  }

  private void report(StatusOr<List<EquivalentAddressGroup>> result) {
    syncContext.execute(() -> {
      if (!shutdown) {
        listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(result).build());
      }
    });
  }

  /** Reconnects at once if the watch waits to retry; opens a new watch if the old one was refused for good. */
  @Override
  public void refresh() {
    if (shutdown || watch == null) {
      return;
    }
    if (watch.state() == Watch.State.CLOSED) {
      watch = client.watch(service, this::onEvent, this::onState);
    } else {
      watch.retryNow();
    }
  }

  @Override
  public void shutdown() {
    if (shutdown) {
      return;
    }
    shutdown = true;
    if (watch != null) {
      watch.close();
    }
    if (client != null) {
      SharedClients.release(client);
    }
  }
}
