package io.linkbridge.spi;

import java.time.Duration;
import java.util.Set;

/**
 * A seam in a consensus engine's transport for fault tests, like hashicorp/raft's in-memory
 * transport: it drops, delays or holds this member's Raft messages while every process keeps
 * running, so partitions, slow links and frozen peers run in one JVM. Each call acts on this member's
 * side only; act on both sides for a symmetric fault (the test kit's {@code TestCluster} does).
 * Thread-safe.
 */
public interface NetworkFaults {

  /** Drops every Raft message to and from these members, from now until {@link #heal()}. */
  void cutOff(Set<String> memberIds);

  /** Delays every Raft message this member sends by {@code delay}, until {@link #heal()} ({@code ZERO}: none). */
  void delay(Duration delay);

  /**
   * Holds every Raft message this member sends or receives, in order, until {@link #heal()}: what a
   * frozen process's sockets do (the member's own threads keep running; freeze a process with SIGSTOP
   * for the rest).
   */
  void hold();

  /** Delivers everything again: no cut, no delay, and what was held goes out and in, in order. */
  void heal();
}
