package io.linkbridge.spi;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * One broker's member of a replicated log. Created by a {@link ConsensusProvider}; drives a
 * {@link StateMachine}. Implementations are thread-safe: every method may be called from any thread.
 */
public interface ConsensusEngine {

  /**
   * Starts listening and joins the cluster. The future completes once this member serves its
   * transport; it does not wait for a quorum or a leader.
   */
  CompletableFuture<Void> start();

  /**
   * Appends {@code entry} to the replicated log. Any member accepts a proposal and forwards it to the
   * leader. The future completes with {@link StateMachine#apply}'s result once the entry is committed
   * by a majority (on disk) and applied on this member; it fails with
   * {@link io.linkbridge.NoQuorumException} when no majority answers in time.
   */
  CompletableFuture<byte[]> propose(byte[] entry);

  /** Completes when a leader is known and this member has applied the log up to its commit index. */
  CompletableFuture<Void> ready();

  /** The id of the current leader as this member knows it. */
  Optional<String> leaderId();

  /** Whether this member is the leader now. */
  boolean isLeader();

  /**
   * The current Raft term as this member knows it (0 before the first election). Required: a leader's
   * time-based decision carries it, and the state machine refuses one made in an earlier term.
   */
  long term();

  /**
   * Registers a listener for leader changes; it receives the new leader id, or empty while there is
   * none. Runs on the engine's thread and must not block.
   */
  void onLeaderChange(Consumer<Optional<String>> listener);

  /**
   * Registers a listener called once if this member can no longer be trusted: its log could not be
   * forced to disk, or its storage is damaged. The member has then stopped taking part in the cluster
   * and every proposal fails; the broker stops serving and says why. Runs on an engine thread; must
   * not block.
   */
  void onFailure(Consumer<Throwable> listener);

  /**
   * Records that this member's state was found wrong (it diverged from the majority's), so that its
   * next start refuses the state as damaged, and discarding it goes the safe way (see
   * {@code NodeBuilder.discardDamagedState}). Called once, from any thread.
   */
  void markDamaged(String reason);

  /** The highest log index this member knows to be committed. */
  long commitIndex();

  /** The highest log index this member has applied to its state machine. */
  long appliedIndex();

  /** The members of the cluster and what this member knows of them. */
  List<MemberStatus> members();

  /**
   * Takes a snapshot of the state machine and discards the log it covers, so disk use stays
   * bounded. Completes when done.
   */
  CompletableFuture<Void> compact();

  /**
   * Asks member {@code memberId} to take over leadership (Raft's leadership transfer: it starts an
   * election in a new term). Completes when it has taken over; fails when it could not, and the
   * cluster then goes on under whoever leads. For operators and tests.
   */
  default CompletableFuture<Void> transferLeadership(String memberId) {
    return CompletableFuture.failedFuture(new UnsupportedOperationException(getClass().getName() + " cannot transfer leadership"));
  }

  /**
   * Why this member cannot append to its log now, if it can tell (for example a full disk: the path
   * and the free space), so that a write that timed out names the cause instead of the quorum. Asked
   * when a write times out, from any thread; cheap. Empty when it knows of no problem.
   */
  default Optional<String> storageProblem() {
    return Optional.empty();
  }

  /** This engine's transport fault seam, for tests, if it has one. */
  default Optional<NetworkFaults> networkFaults() {
    return Optional.empty();
  }

  /**
   * Leaves gracefully: hands over leadership if leader, then stops. The future completes once this
   * member has released everything it holds (threads, port, open files), whether the hand-over
   * worked or not; it never completes exceptionally.
   */
  CompletableFuture<Void> shutdown();

  /**
   * Stops at once, as close to a crash as a stop inside a JVM can be: no hand-over, no flush beyond
   * what is already durable. Returns once this member has released everything it holds (threads,
   * port, open files), also when a {@link #shutdown()} was under way or {@link #start()} failed.
   */
  void shutdownNow();
}
