package io.linkbridge.internal;

import io.linkbridge.HostAndPort;
import io.linkbridge.Peer;
import io.linkbridge.ProxyConfig;
import io.linkbridge.ShutdownConfig;
import io.linkbridge.SnapshotConfig;
import io.linkbridge.spi.ConsensusProvider;
import io.linkbridge.spi.TransportProvider;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The checked settings of one node, as the builder hands them over. A null provider means
 * ServiceLoader; a null {@code address} or {@code proxyAddress}, none.
 */
public record NodeSettings(
    String id,
    HostAndPort address,
    HostAndPort raftAddress,
    Path dataDir,
    List<Peer> members,
    String clusterId,
    Duration electionTimeout,
    Duration heartbeatInterval,
    Duration writeTimeout,
    Duration agentTimeout,
    int maxClients,
    Duration clientTimeout,
    SnapshotConfig snapshots,
    int segmentSize,
    int maxEntrySize,
    boolean discardDamagedState,
    Duration consistencyCheckInterval,
    Duration agentPingInterval,
    ShutdownConfig shutdown,
    int maxWatchesPerClient,
    int maxInstancesPerAgent,
    int maxPendingWrites,
    ProxyConfig proxy,
    HostAndPort proxyAddress,
    ConsensusProvider consensus,
    TransportProvider transport) {}
