package io.linkbridge.grpc.internal;

import io.linkbridge.InstanceState;
import io.linkbridge.Registry;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.util.HashMap;
import java.util.Map;

/**
 * Turns registry events into watch events once per event for every watch on this broker. A
 * SHUTDOWN_NOTICE carries the alternatives, so building it per watch would cost watches x instances
 * on the thread that applies the Raft log; here the first watch builds it and the others share the
 * immutable message. Thread-safe.
 */
final class WatchEvents {
  private final Registry registry;
  private RegistryEvent last;                                    // the event converted last (by identity)
  private WatchEvent lastConverted;
  private final Map<String, WatchEvent> restoredSnapshots = new HashMap<>(); // of the event `last`, by service

  WatchEvents(Registry registry) {
    this.registry = registry;
  }

  /** The watch event of {@code e} for watches of {@code service}, or null when it is about another service. */
  synchronized WatchEvent of(RegistryEvent e, String service) {
    if (e != last) {
      last = e;
      lastConverted = e.type() == RegistryEvent.Type.STATE_RESTORED ? null : convert(e);
      restoredSnapshots.clear();
    }
    if (e.type() == RegistryEvent.Type.STATE_RESTORED) {
      return restoredSnapshots.computeIfAbsent(service, s -> snapshot(registry.state(), s));
    }
    return lastConverted != null && e.instance().service().equals(service) ? lastConverted : null;
  }

  static WatchEvent snapshot(ClusterState state, String service) {
    return WatchEvent.newBuilder().setType(WatchEvent.Type.SNAPSHOT).setRevision(state.revision())
        .addAllSnapshot(ProtoMapping.toProto(state.instances(service))).build();
  }

  private WatchEvent convert(RegistryEvent e) {
    ServiceInstance i = e.instance();
    if (i == null) {
      return null;
    }
    WatchEvent.Builder b = WatchEvent.newBuilder().setRevision(e.revision()).setInstance(ProtoMapping.toProto(i));
    switch (e.type()) {
      case INSTANCE_REGISTERED -> b.setType(WatchEvent.Type.ADDED);
      case INSTANCE_DEREGISTERED -> b.setType(WatchEvent.Type.REMOVED);
      default -> {
        if (i.takesCalls() || i.state() != InstanceState.DRAINING) {
          b.setType(WatchEvent.Type.UPDATED);
        } else {
          b.setType(WatchEvent.Type.SHUTDOWN_NOTICE).addAllAlternatives(ProtoMapping.toProto(
              registry.state().instances(i.service()).stream().filter(x -> x.takesCalls() && !x.id().equals(i.id())).toList()));
        }
      }
    }
    return b.build();
  }
}
