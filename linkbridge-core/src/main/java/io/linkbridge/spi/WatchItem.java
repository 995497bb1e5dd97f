package io.linkbridge.spi;

import io.linkbridge.HostAndPort;
import io.linkbridge.InstanceState;
import io.linkbridge.ServiceInstance;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * One message of a watch, as the broker's watch hub hands it to a {@link WatchSink}. The hub builds
 * one item per registry event and service and gives the same object to every watch of that
 * service, so a transport encodes it once ({@link #encoded}) however many watchers it has.
 * Immutable apart from that memo; thread-safe.
 */
public final class WatchItem {

  /** What the item says. */
  public enum Kind {
    /** Every instance of the service at {@link #revision()}: {@link #instances()}. */
    SNAPSHOT,
    /** One change of the service: {@link #change()}, applied on top of {@link #state()}. */
    CHANGE,
    /** Nothing changed for the service up to {@link #revision()}: the watch is alive. */
    PROGRESS,
    /** This broker is leaving: move to one of {@link #brokers()} and resume from the last revision received. */
    BROKER_LEAVING
  }

  private final Kind kind;
  private final long revision;
  private final String service;
  private final ClusterState state;
  private final RegistryEvent change;
  private final List<HostAndPort> brokers;
  private volatile List<ServiceInstance> instances;
  private volatile List<ServiceInstance> alternatives;
  private volatile long estimatedBytes = -1;
  private volatile Object encoded;

  private WatchItem(Kind kind, long revision, String service, ClusterState state, RegistryEvent change, List<HostAndPort> brokers) {
    this.kind = kind;
    this.revision = revision;
    this.service = service;
    this.state = state;
    this.change = change;
    this.brokers = brokers;
  }

  /** Every instance of {@code service} in {@code state}, at the state's revision (listed lazily, once). */
  public static WatchItem snapshot(String service, ClusterState state) {
    return new WatchItem(Kind.SNAPSHOT, state.revision(), service, state, null, List.of());
  }

  /** The change {@code event} to {@code service}; {@code state} is the registry right after it (or later). */
  public static WatchItem change(String service, RegistryEvent event, ClusterState state) {
    return new WatchItem(Kind.CHANGE, event.revision(), service, state, Objects.requireNonNull(event, "event"), List.of());
  }

  public static WatchItem progress(String service, long revision) {
    return new WatchItem(Kind.PROGRESS, revision, service, null, null, List.of());
  }

  public static WatchItem brokerLeaving(String service, long revision, List<HostAndPort> brokers) {
    return new WatchItem(Kind.BROKER_LEAVING, revision, service, null, null, List.copyOf(brokers));
  }

  public Kind kind() {
    return kind;
  }

  /** The registry revision the item brings the watcher to. */
  public long revision() {
    return revision;
  }

  public String service() {
    return service;
  }

  /** For CHANGE and SNAPSHOT: the registry the item was taken from (for CHANGE: right after the change, or later); else null. */
  public ClusterState state() {
    return state;
  }

  /** For CHANGE: the registry event; else null. */
  public RegistryEvent change() {
    return change;
  }

  /** For BROKER_LEAVING: the other brokers' API addresses; else empty. */
  public List<HostAndPort> brokers() {
    return brokers;
  }

  /** For SNAPSHOT: every instance of the service, sorted by id; else empty. */
  public List<ServiceInstance> instances() {
    if (kind != Kind.SNAPSHOT) {
      return List.of();
    }
    List<ServiceInstance> i = instances;
    if (i == null) {
      i = state.instances(service);
      instances = i;
    }
    return i;
  }

  /**
   * For a CHANGE that drains an instance (DRAINING, taking no calls): the instances of the service
   * that take calls, other than it, which its watchers move to (listed lazily, once); else empty.
   */
  public List<ServiceInstance> alternatives() {
    if (kind != Kind.CHANGE || change.type() != RegistryEvent.Type.INSTANCE_UPDATED || !isDrain(change.instance())) {
      return List.of();
    }
    List<ServiceInstance> a = alternatives;
    if (a == null) {
      ServiceInstance drained = change.instance();
      a = state.instances(service).stream().filter(x -> x.takesCalls() && !x.id().equals(drained.id())).toList();
      alternatives = a;
    }
    return a;
  }

  /** Whether an updated instance is being drained: its watchers are told where to go. */
  public static boolean isDrain(ServiceInstance updated) {
    return updated.state() == InstanceState.DRAINING && !updated.takesCalls();
  }

  /**
   * About how many bytes the item takes on the wire (its instances' names, addresses, metadata and
   * services, and the alternatives of a drain), computed once: what bounds a slow watcher's queue.
   */
  public long estimatedBytes() {
    long b = estimatedBytes;
    if (b < 0) {
      b = 16 + brokers.size() * 24L;
      for (ServiceInstance i : instances()) {
        b += estimatedBytes(i);
      }
      if (change != null) {
        b += estimatedBytes(change.instance());
        for (ServiceInstance i : alternatives()) {
          b += estimatedBytes(i);
        }
      }
      estimatedBytes = b;
    }
    return b;
  }

  private static long estimatedBytes(ServiceInstance i) {
    long b = 24 + i.service().length() + i.id().length() + i.host().length() + i.agentId().length();
    for (var m : i.metadata().entrySet()) {
      b += 4 + m.getKey().length() + m.getValue().length();
    }
    for (String g : i.grpcServices()) {
      b += 2 + g.length();
    }
    return b;
  }

  /**
   * This item encoded by {@code encoder}, computed by the first caller and shared with the others.
   * Every caller must pass the same encoder (a transport has one wire format).
   */
  @SuppressWarnings("unchecked")
  public <T> T encoded(Function<WatchItem, T> encoder) {
    Object e = encoded;
    if (e == null) {
      synchronized (this) {
        e = encoded;
        if (e == null) {
          e = Objects.requireNonNull(encoder.apply(this), "encoder returned null");
          encoded = e;
        }
      }
    }
    return (T) e;
  }

  @Override
  public String toString() {
    return "WatchItem{" + kind + " " + service + "@" + revision + (change == null ? "" : " " + change.type()) + "}";
  }
}
