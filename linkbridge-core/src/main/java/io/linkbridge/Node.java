package io.linkbridge;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * One broker of a Link Bridge cluster, embedded in this JVM. Create it with {@link LinkBridge#node()}.
 *
 * <p>Lifecycle, like grpc-java's {@code ManagedChannel}: {@link NodeBuilder#start()} returns a
 * running node; {@link #shutdown()} leaves gracefully; {@link #shutdownNow()} stops at once;
 * {@link #awaitTermination(Duration)} waits for either. {@link #close()} is {@link #shutdown()} plus
 * a bounded wait. Thread-safe.
 */
public interface Node extends AutoCloseable {

  /** This broker's id. */
  String id();

  /** The address clients and agents connect to, if one was set. */
  Optional<HostAndPort> address();

  /** The address the Raft transport listens on. */
  HostAndPort raftAddress();

  /**
   * Completes with this node once a leader is known and the local replica has caught up with the
   * commit index. {@link NodeBuilder#start()} does not wait for this, so brokers can be started one
   * after another from one thread. Until then the broker's health is NOT_SERVING and discovery answers
   * UNAVAILABLE. Fails with a {@link LinkBridgeException} saying why when the broker stopped for good
   * (its log could not be forced to disk, its Raft snapshot is damaged).
   */
  CompletableFuture<Node> ready();

  /** The replicated registry as this broker sees it. */
  Registry registry();

  /** This broker's counters now: registry, Raft indexes, local clients. */
  NodeMetrics metrics();

  /** Whether this broker is the Raft leader now. */
  boolean isLeader();

  /** The current leader's id, as this broker knows it; empty during an election. */
  Optional<String> leaderId();

  /**
   * Writes a snapshot of the registry to {@code dataDir/snapshots} now (keeping the configured
   * retention) and compacts the Raft log up to it. Completes with the snapshot's revision.
   */
  CompletableFuture<Long> snapshot();

  /** Leaves gracefully: hands over leadership if leader, stops taking writes, releases ports. */
  void shutdown();

  /** Stops at once: no hand-over, in-flight writes fail. The closest a JVM-local stop gets to a crash. */
  void shutdownNow();

  /** Waits until the node has stopped; returns whether it did within {@code timeout}. */
  boolean awaitTermination(Duration timeout) throws InterruptedException;

  /** Whether {@link #shutdown()} or {@link #shutdownNow()} was called. */
  boolean isShutdown();

  /** {@link #shutdown()} and wait up to 30 seconds. */
  @Override
  void close();
}
