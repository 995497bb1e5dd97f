package io.linkbridge.spi;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The deterministic state machine a {@link ConsensusEngine} drives, in the style of hashicorp/raft's
 * FSM. Link Bridge supplies the implementation (the registry); engines call it.
 *
 * <p>Threading: the engine calls every method from one thread at a time (its apply thread), in log
 * order, never concurrently. {@link #apply} must be deterministic: no clocks, no randomness, no I/O;
 * for bytes it cannot decode it returns a result that says so instead of throwing, so a bad entry
 * never stalls the log.
 */
public interface StateMachine {

  /**
   * Applies one committed log entry.
   *
   * @param term the Raft term of the entry: the term of the leader that appended it to the log, the
   *     same on every member and on every replay (not the member's current term)
   * @param entry the bytes given to {@link ConsensusEngine#propose}
   * @return the result returned to the proposer, on the broker that proposed
   */
  byte[] apply(long term, byte[] entry);

  /** Writes the whole current state to {@code out}. Called on the apply thread between two entries. */
  void snapshot(OutputStream out) throws IOException;

  /** Replaces the whole state with one written by {@link #snapshot}. Called on the apply thread. */
  void restore(InputStream in) throws IOException;
}
