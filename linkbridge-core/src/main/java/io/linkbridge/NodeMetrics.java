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
 * @param consistencyChecks how many times this broker compared its replica with a majority's checksum
 * @param consistencyMismatches how many of those differed (0 on a healthy broker; above 0 it stopped serving)
 */
public record NodeMetrics(long revision, long commitIndex, long appliedIndex, boolean leader, long localClients, int instances, int agents,
    long consistencyChecks, long consistencyMismatches) {}
