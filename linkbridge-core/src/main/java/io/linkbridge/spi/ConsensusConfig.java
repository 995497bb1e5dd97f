package io.linkbridge.spi;

import io.linkbridge.HostAndPort;
import io.linkbridge.Peer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Everything a {@link ConsensusProvider} needs to create one member. Immutable; built by the node from
 * its builder, so every value here has already been checked.
 *
 * @param memberId this broker's id
 * @param raftAddress the address this member's Raft transport binds
 * @param members every member of the cluster, this one included
 * @param clusterId the cluster's id: every message between members carries it, and a member refuses
 *     messages of another cluster or from a member it does not list
 * @param dataDir where this member keeps its log, metadata and snapshots ({@code dataDir/raft})
 * @param electionTimeout how long a follower waits for the leader before it starts an election
 * @param heartbeatInterval how often the leader sends heartbeats
 * @param requestTimeout how long a Raft request between members may take before it is retried
 * @param maxEntrySize the largest log entry in bytes
 * @param segmentSize the size of one log segment file in bytes
 * @param discardDamagedState when this member's stored state is found damaged at start, move it aside
 *     and catch up from the others instead of refusing to start (an operator's choice, never the default)
 * @param apiAddress the address this broker serves agents and clients on, or null for a Raft-only
 *     broker: the Raft port names it to a client that calls it by mistake
 */
public record ConsensusConfig(
    String memberId,
    HostAndPort raftAddress,
    List<Peer> members,
    String clusterId,
    Path dataDir,
    Duration electionTimeout,
    Duration heartbeatInterval,
    Duration requestTimeout,
    int maxEntrySize,
    int segmentSize,
    boolean discardDamagedState,
    HostAndPort apiAddress) {

  /** A member that serves no API of its own (a Raft-only broker, an engine under test). */
  public ConsensusConfig(String memberId, HostAndPort raftAddress, List<Peer> members, String clusterId, Path dataDir, Duration electionTimeout,
      Duration heartbeatInterval, Duration requestTimeout, int maxEntrySize, int segmentSize, boolean discardDamagedState) {
    this(memberId, raftAddress, members, clusterId, dataDir, electionTimeout, heartbeatInterval, requestTimeout, maxEntrySize, segmentSize,
        discardDamagedState, null);
  }

  public ConsensusConfig {
    Objects.requireNonNull(memberId, "memberId");
    Objects.requireNonNull(raftAddress, "raftAddress");
    members = List.copyOf(members);
    Objects.requireNonNull(clusterId, "clusterId");
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(electionTimeout, "electionTimeout");
    Objects.requireNonNull(heartbeatInterval, "heartbeatInterval");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    if (maxEntrySize <= 0 || segmentSize < maxEntrySize) {
      throw new IllegalArgumentException("segmentSize (" + segmentSize + ") must be >= maxEntrySize (" + maxEntrySize + ") > 0");
    }
  }
}
