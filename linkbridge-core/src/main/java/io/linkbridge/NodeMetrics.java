package io.linkbridge;

/**
 * A broker's counters at one moment. Immutable.
 *
 * @param revision the registry revision of the local replica
 * @param commitIndex the highest Raft index this broker knows committed
 * @param appliedIndex the highest Raft index applied here
 * @param leader whether this broker is the Raft leader
 * @param localClients the client sessions open on this broker (local, not cluster-wide)
 * @param instances the instances in the registry
 * @param agents the agents the registry knows
 */
public record NodeMetrics(long revision, long commitIndex, long appliedIndex, boolean leader, long localClients, int instances, int agents) {}
