package io.linkbridge;

import java.util.List;
import java.util.Objects;

/**
 * What a watch delivers. Immutable.
 *
 * @param type what happened
 * @param revision the registry revision of the change (of the snapshot, for {@link Type#SNAPSHOT})
 * @param instance the instance concerned; null for {@link Type#SNAPSHOT}
 * @param instances for SNAPSHOT every instance of the service; for SHUTDOWN_NOTICE the alternatives to move to; else empty
 */
public record InstanceEvent(Type type, long revision, ServiceInstance instance, List<ServiceInstance> instances) {

  /** What happened. */
  public enum Type {
    /** The whole current list; replaces whatever the listener held (first event, and after a reload). */
    SNAPSHOT,
    /** An instance was registered. */
    ADDED,
    /** An instance changed. */
    UPDATED,
    /** An instance left. */
    REMOVED,
    /** An instance started draining: move new calls to {@link #instances()}. */
    SHUTDOWN_NOTICE
  }

  public InstanceEvent {
    Objects.requireNonNull(type, "type");
    instances = List.copyOf(instances);
  }
}
