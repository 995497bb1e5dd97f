package io.linkbridge;

import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import java.util.List;
import java.util.SortedSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A broker's view of the replicated service registry. Reads come from the local replica (no network);
 * writes go through the Raft leader and complete once committed by a majority and applied here.
 *
 * <p>Thread-safe. Write futures complete on one of the broker's {@code linkbridge-write-callbacks-<id>}
 * threads, never on a Raft thread; a callback that blocks (even on another write) holds back only
 * itself, but keep them short. A write fails at once with {@link WriteLimitException} when
 * {@code maxPendingWrites} writes already wait, and with {@link NoQuorumException} when it is not
 * committed within {@code writeTimeout} of its submission.
 *
 * <pre>{@code
 * long revision = node.registry().register(instance).join();
 * List<ServiceInstance> now = node.registry().instances("greeter");
 * }</pre>
 */
public interface Registry {

  /**
   * Registers or replaces an instance that no agent owns (a static registration: it stays until
   * deregistered). Completes with the committed revision, or fails with
   * {@link RegistrationRejectedException} ({@code ALREADY_OWNED}: the id is owned by an agent;
   * {@code INVALID}: {@code instance} names an agent, and only that agent, through its broker stream,
   * registers its instances) or {@link NoQuorumException}.
   */
  CompletableFuture<Long> register(ServiceInstance instance);

  /**
   * Removes an instance whatever its owner. Completes with the committed revision, or fails with
   * {@link RegistrationRejectedException} ({@code NOT_FOUND}) or {@link NoQuorumException}.
   */
  CompletableFuture<Long> deregister(String service, String instanceId);

  /** The instances of a service on the local replica, sorted by id. */
  List<ServiceInstance> instances(String service);

  /** The services with at least one instance on the local replica, sorted. */
  SortedSet<String> services();

  /** The agents on the local replica, sorted by id. */
  List<AgentInfo> agents();

  /** The revision of the local replica. */
  long revision();

  /** The checksum of the local replica: equal on brokers with equal states. */
  long checksum();

  /** The whole local replica at its current revision. */
  ClusterState state();

  /**
   * Calls {@code listener} with every change this broker applies from now on, in revision order. It
   * runs on the apply thread and must not block. Close the returned handle to stop.
   */
  AutoCloseable subscribe(Consumer<RegistryEvent> listener);
}
