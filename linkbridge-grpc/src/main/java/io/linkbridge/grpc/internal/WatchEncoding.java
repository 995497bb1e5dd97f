package io.linkbridge.grpc.internal;

import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.v1.WatchEvent;
import io.linkbridge.registry.RegistryEvent;
import io.linkbridge.spi.WatchItem;

/**
 * Watch items as {@code linkbridge.v1.WatchEvent}s. Used through {@link WatchItem#encoded}, so each
 * item is encoded once however many watchers receive it (a SHUTDOWN_NOTICE lists the alternatives,
 * which would otherwise cost watchers x instances). Stateless.
 */
final class WatchEncoding {
  private WatchEncoding() {}

  static WatchEvent encode(WatchItem item) {
    WatchEvent.Builder b = WatchEvent.newBuilder().setRevision(item.revision());
    switch (item.kind()) {
      case SNAPSHOT -> b.setType(WatchEvent.Type.SNAPSHOT).addAllSnapshot(ProtoMapping.toProto(item.instances()));
      case PROGRESS -> b.setType(WatchEvent.Type.PROGRESS);
      case BROKER_LEAVING -> {
        b.setType(WatchEvent.Type.BROKER_LEAVING);
        item.brokers().forEach(broker -> b.addBrokers(broker.toString()));
      }
      case CHANGE -> change(item, b);
    }
    return b.build();
  }

  private static void change(WatchItem item, WatchEvent.Builder b) {
    RegistryEvent e = item.change();
    ServiceInstance i = e.instance();
    b.setInstance(ProtoMapping.toProto(i));
    switch (e.type()) {
      case INSTANCE_REGISTERED -> b.setType(WatchEvent.Type.ADDED);
      case INSTANCE_DEREGISTERED -> b.setType(WatchEvent.Type.REMOVED);
      default -> {
        if (WatchItem.isDrain(i)) {
          b.setType(WatchEvent.Type.SHUTDOWN_NOTICE).addAllAlternatives(ProtoMapping.toProto(item.alternatives()));
        } else {
          b.setType(WatchEvent.Type.UPDATED);
        }
      }
    }
  }
}
