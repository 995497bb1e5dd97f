package io.linkbridge;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * One broker of a Link Bridge cluster, embedded in this JVM. Create it with {@link LinkBridge#node()}.
 *
 * <p>Lifecycle, like grpc-java's {@code ManagedChannel}: {@link NodeBuilder#start()} returns a
 * running node; {@link #shutdown()} leaves gracefully; {@link #shutdownNow()} stops at once;
 * {@link #awaitTermination(Duration)} waits for either to finish. A node is terminated
 * ({@link #isTerminated()}) once the threads it started are stopped and its ports and the lock on its
 * data directory are released; a start that fails releases them before it throws. {@link #close()}
 * is {@link #shutdown()} plus a bounded wait. Thread-safe.
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

  /**
   * What this broker's proxy has carried since it started, per gRPC service (sorted by name): calls,
   * failures, calls open now, latency. Empty when the broker serves no API or proxied nothing.
   */
  List<ProxyStats> proxyStats();

  /** Whether this broker is the Raft leader now. */
  boolean isLeader();

  /** The current leader's id, as this broker knows it; empty during an election. */
  Optional<String> leaderId();

  /**
   * Writes a snapshot of the registry to {@code dataDir/snapshots} now (keeping the configured
   * retention) and compacts the Raft log up to it. Completes with the snapshot's revision.
   */
  CompletableFuture<Long> snapshot();

  /**
   * Leaves gracefully and returns without waiting (see {@link ShutdownConfig}): health goes
   * NOT_SERVING and new calls are refused with UNAVAILABLE naming the other brokers; every agent and
   * watcher connected here is told to move (BROKER_LEAVING, naming the other brokers) and resumes on
   * another broker from its last revision, while this broker still commits their writes; once they
   * have all gone, or the grace period is over, it stops taking writes, hands over leadership if
   * leader, leaves Raft, ends what is still open with UNAVAILABLE and releases everything. Wait for
   * the end with {@link #awaitTermination(Duration)}.
   */
  void shutdown();

  /**
   * Stops at once: no hand-over, in-flight writes and open calls fail. The closest a JVM-local stop
   * gets to a crash. Returns once the node has terminated, or after a bounded wait (logged) if some
   * part did not stop in time.
   */
  void shutdownNow();

  /**
   * Waits until the node has terminated (see {@link #isTerminated()}); returns whether it did within
   * {@code timeout}.
   */
  boolean awaitTermination(Duration timeout) throws InterruptedException;

  /** Whether {@link #shutdown()} or {@link #shutdownNow()} was called. */
  boolean isShutdown();

  /**
   * Whether the node has terminated: shut down, the threads it started stopped, its API and Raft
   * ports and its data directory's lock released.
   */
  boolean isTerminated();

  /** {@link #shutdown()}, wait up to the grace period plus 30 seconds, then {@link #shutdownNow()} if it has not terminated. */
  @Override
  void close();
}
