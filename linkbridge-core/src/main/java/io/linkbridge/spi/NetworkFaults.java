package io.linkbridge.spi;

import java.util.Set;

/**
 * A seam in a consensus engine's transport for fault tests, like hashicorp/raft's in-memory
 * transport: it cuts this member off from some others while both processes keep running, so
 * partitions run in one JVM. A cut is one-sided (messages to and from the listed members are dropped
 * here); cut both sides for a clean partition (the test kit's {@code TestCluster.partition} does).
 * Thread-safe.
 */
public interface NetworkFaults {

  /** Drops every Raft message to and from these members, from now until {@link #heal()}. */
  void cutOff(Set<String> memberIds);

  /** Delivers everything again. */
  void heal();
}
