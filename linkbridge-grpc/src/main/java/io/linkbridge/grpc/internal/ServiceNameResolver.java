package io.linkbridge.grpc.internal;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.StatusOr;
import io.grpc.SynchronizationContext;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.ServiceInstance;
import io.linkbridge.Watch;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Resolves one service to the addresses of its instances that take calls, from a watch through the
 * brokers of the target. Every event of the watch gives the channel the new list; a SHUTDOWN_NOTICE
 * takes the draining instance out before it is deregistered.
 */
public final class ServiceNameResolver extends NameResolver {
  private final String service;
  private final List<String> brokers;
  private final SynchronizationContext syncContext;
  private final Map<String, ServiceInstance> takingCalls = new TreeMap<>(); // by instance id; on the watch thread
  private LinkBridgeClient client;
  private Watch watch;
  private Listener2 listener;

  public ServiceNameResolver(String service, List<String> brokers, SynchronizationContext syncContext) {
    this.service = service;
    this.brokers = brokers;
    this.syncContext = syncContext;
  }

  @Override
  public String getServiceAuthority() {
    return service;
  }

  @Override
  public void start(Listener2 listener) {
    this.listener = listener;
    client = LinkBridge.client().brokers(brokers.toArray(String[]::new)).build();
    watch = client.watch(service, this::onEvent);
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
    List<EquivalentAddressGroup> addresses = new ArrayList<>();
    for (ServiceInstance i : takingCalls.values()) {
      addresses.add(new EquivalentAddressGroup(new InetSocketAddress(i.host(), i.port())));
    }
    StatusOr<List<EquivalentAddressGroup>> result = addresses.isEmpty()
        ? StatusOr.fromStatus(Status.UNAVAILABLE.withDescription("no instance of " + service + " takes calls now (brokers " + String.join(",", brokers) + ")"))
        : StatusOr.fromValue(addresses);
    syncContext.execute(() -> listener.onResult2(ResolutionResult.newBuilder().setAddressesOrError(result).build()));
  }

  @Override
  public void shutdown() {
    if (watch != null) {
      watch.close();
    }
    if (client != null) {
      client.close();
    }
  }
}
