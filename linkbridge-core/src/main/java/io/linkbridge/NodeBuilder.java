package io.linkbridge;

import io.linkbridge.internal.DefaultNode;
import io.linkbridge.internal.NodeSettings;
import io.linkbridge.spi.ConsensusProvider;
import io.linkbridge.spi.TransportProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Configures and starts a broker {@link Node}. Each setter checks its argument at once and throws
 * {@link IllegalArgumentException} naming the value; rules that span settings are checked by
 * {@link #start()}. A builder may be reused to start several nodes; it is not thread-safe.
 *
 * <pre>{@code
 * Node node = LinkBridge.node()
 *     .id("broker-1").address("127.0.0.1:5000").raftAddress("127.0.0.1:7000")
 *     .dataDir(Path.of("/var/lib/linkbridge/broker-1"))
 *     .join(List.of(Peer.of("broker-1", "127.0.0.1:7000"), Peer.of("broker-2", "127.0.0.1:7001"),
 *                   Peer.of("broker-3", "127.0.0.1:7002")))
 *     .electionTimeout(Duration.ofMillis(750)).heartbeatInterval(Duration.ofMillis(250))
 *     .start();
 * }</pre>
 */
public final class NodeBuilder {
  /** Default time a follower waits for the leader before it starts an election. */
  public static final Duration DEFAULT_ELECTION_TIMEOUT = Duration.ofMillis(750);
  /** Default {@link #heartbeatInterval}: 250 ms (linkbridge-raft heartbeats at least every 20 ms whatever it says). */
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofMillis(250);
  /** Default time a write may take to commit before it fails with {@link NoQuorumException}. */
  public static final Duration DEFAULT_WRITE_TIMEOUT = Duration.ofSeconds(10);
  /** Default most clients one broker serves at once ({@code local.maxClients}). */
  public static final int DEFAULT_MAX_CLIENTS = 10_000;
  /** Default {@link #consistencyCheckInterval}: 30 seconds. */
  public static final Duration DEFAULT_CONSISTENCY_CHECK_INTERVAL = Duration.ofSeconds(30);
  /** Default {@link #agentTimeout}: 5 seconds. */
  public static final Duration DEFAULT_AGENT_TIMEOUT = Duration.ofSeconds(5);
  /** Default time an idle client session lives ({@code local.clientTimeout}). */
  public static final Duration DEFAULT_CLIENT_TIMEOUT = Duration.ofMinutes(5);
  /** Default size of one Raft log segment file: 32 MiB. */
  public static final int DEFAULT_SEGMENT_SIZE = 32 * 1024 * 1024;
  /**
   * Default largest Raft log entry (one batch of commands): 64 KiB, about 150 registrations. Atomix
   * re-reads up to twice this from the page cache whenever a log reader nears the tail, so a larger
   * value costs throughput on every entry; raise it only for instances with large metadata.
   */
  public static final int DEFAULT_MAX_ENTRY_SIZE = 64 * 1024;
  /** Default {@link #agentPingInterval}: 1 second. */
  public static final Duration DEFAULT_AGENT_PING_INTERVAL = Duration.ofSeconds(1);
  /** Default {@link #maxWatchesPerClient}: 1,000. */
  public static final int DEFAULT_MAX_WATCHES_PER_CLIENT = 1_000;
  /** Default {@link #maxInstancesPerAgent}: 1,000. */
  public static final int DEFAULT_MAX_INSTANCES_PER_AGENT = 1_000;
  /** Default {@link #maxPendingWrites}: 10,000. */
  public static final int DEFAULT_MAX_PENDING_WRITES = 10_000;

  private String id;
  private HostAndPort address;
  private HostAndPort raftAddress;
  private Path dataDir;
  private List<Peer> peers = List.of();
  private Duration electionTimeout = DEFAULT_ELECTION_TIMEOUT;
  private Duration heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
  private Duration writeTimeout = DEFAULT_WRITE_TIMEOUT;
  private Duration agentTimeout;
  private int maxClients = DEFAULT_MAX_CLIENTS;
  private Duration clientTimeout = DEFAULT_CLIENT_TIMEOUT;
  private SnapshotConfig snapshots = SnapshotConfig.DEFAULT;
  private int segmentSize = DEFAULT_SEGMENT_SIZE;
  private int maxEntrySize = DEFAULT_MAX_ENTRY_SIZE;
  private ConsensusProvider consensus;
  private TransportProvider transport;
  private String clusterName;
  private boolean discardDamagedState;
  private Duration consistencyCheckInterval = DEFAULT_CONSISTENCY_CHECK_INTERVAL;
  private Duration agentPingInterval;
  private ShutdownConfig shutdown = ShutdownConfig.DEFAULT;
  private int maxWatchesPerClient = DEFAULT_MAX_WATCHES_PER_CLIENT;
  private int maxInstancesPerAgent = DEFAULT_MAX_INSTANCES_PER_AGENT;
  private int maxPendingWrites = DEFAULT_MAX_PENDING_WRITES;
  private ProxyConfig proxy = ProxyConfig.DEFAULT;
  private HostAndPort proxyAddress;

  NodeBuilder() {}

  /** This broker's id, unique in the cluster. Required. */
  public NodeBuilder id(String id) {
    this.id = Validation.requireId("id", id);
    return this;
  }

  /**
   * The {@code host:port} clients and agents connect to. When set, {@link #start()} serves the
   * broker API there through a {@link TransportProvider} ({@code linkbridge-grpc}).
   */
  public NodeBuilder address(String hostPort) {
    this.address = HostAndPort.parse("address", hostPort);
    return this;
  }

  /** The {@code host:port} the Raft transport binds. Required; must match this broker's entry in {@link #join}. */
  public NodeBuilder raftAddress(String hostPort) {
    this.raftAddress = HostAndPort.parse("raftAddress", hostPort);
    return this;
  }

  /** Where the broker keeps its Raft log and snapshots. Required; created if missing. */
  public NodeBuilder dataDir(Path dataDir) {
    this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
    return this;
  }

  /**
   * Every member of the cluster, this broker included. An empty list (the default) starts a
   * single-broker cluster.
   */
  public NodeBuilder join(List<Peer> peers) {
    Objects.requireNonNull(peers, "peers");
    Set<String> ids = new HashSet<>();
    Set<HostAndPort> addresses = new HashSet<>();
    for (Peer p : peers) {
      Objects.requireNonNull(p, "peers must not contain null");
      if (!ids.add(p.id())) {
        throw new IllegalArgumentException("peers must have distinct ids, '" + p.id() + "' appears twice in " + peers);
      }
      if (!addresses.add(p.raftAddress())) {
        throw new IllegalArgumentException("peers must have distinct raft addresses, " + p.raftAddress() + " appears twice in " + peers);
      }
    }
    this.peers = List.copyOf(peers);
    return this;
  }

  /**
   * The cluster's name, the same on every broker of the cluster: every Raft message carries it, and a
   * broker refuses (and logs) messages of any other cluster. Default: derived from the member list of
   * {@link #join} (ids and Raft addresses), so a broker started with another member list is refused,
   * and so is a broker of another cluster that uses the same ids. Set it when brokers know each other
   * under different addresses (then every broker's derived id would differ), or to name clusters in
   * the logs. 1..253 of letters, digits, '.', '_' and '-'.
   */
  public NodeBuilder clusterName(String name) {
    this.clusterName = Validation.requireName("clusterName", name);
    return this;
  }

  /**
   * What a broker does when it finds its stored Raft state damaged at start (a bad checksum in the
   * log before its tail, a damaged snapshot). {@code false}, the default: it refuses to start and
   * names the file and offset, so nothing acknowledged is silently dropped; restore the directory or
   * decide. {@code true}: it moves its Raft state aside ({@code dataDir/raft.damaged-<time>}, kept for
   * inspection), keeps its Raft term and vote, and catches up from the other brokers. Use it for one
   * broker at a time, while the others hold a majority with the data.
   */
  public NodeBuilder discardDamagedState(boolean discard) {
    this.discardDamagedState = discard;
    return this;
  }

  /**
   * How often the brokers compare their replicas (etcd's corruption check): the leader puts a mark in
   * the log, every broker reports its registry checksum at it, and a broker whose checksum differs
   * from a majority's stops serving and logs at ERROR. Also run when a broker has caught up after
   * its start. At least 100ms; default {@link #DEFAULT_CONSISTENCY_CHECK_INTERVAL}.
   */
  public NodeBuilder consistencyCheckInterval(Duration interval) {
    requireAtLeast("consistencyCheckInterval", interval, Duration.ofMillis(100));
    this.consistencyCheckInterval = interval;
    return this;
  }

  /** How long a follower waits for the leader before it starts an election; at least 50ms. */
  public NodeBuilder electionTimeout(Duration timeout) {
    requireAtLeast("electionTimeout", timeout, Duration.ofMillis(50));
    this.electionTimeout = timeout;
    return this;
  }

  /**
   * The Raft heartbeat: how often the leader sends heartbeats (empty appends) to the other brokers.
   * It drives nothing else (agents are pinged every {@link #agentPingInterval}). At least 10ms and
   * below {@link #electionTimeout}; {@link #agentTimeout} must be at least twice it.
   *
   * <p>Capped by {@code linkbridge-raft}: it heartbeats at least every 20 ms whatever this says,
   * because a follower learns that an entry is committed from the leader's next append, and a write
   * through a follower completes only then. A value above 20 ms is accepted but changes nothing
   * there; a value below is used as is. Another consensus provider may use it as given.
   */
  public NodeBuilder heartbeatInterval(Duration interval) {
    requireAtLeast("heartbeatInterval", interval, Duration.ofMillis(10));
    this.heartbeatInterval = interval;
    return this;
  }

  /**
   * How long an agent may leave the broker's pings unanswered before the broker detaches it, and how
   * long a broker may leave the leader unanswered before the leader detaches that broker's agents; at
   * least twice {@link #heartbeatInterval}. Default: {@link #DEFAULT_AGENT_TIMEOUT} (or 3 heartbeat
   * intervals if that is longer), so a 2-second stall of any one process (a GC pause, SIGSTOP) removes
   * nothing. An agent whose process dies is removed at once whatever this is: its stream resets. Time
   * this broker itself stood still is never counted (see docs/agents.md).
   */
  public NodeBuilder agentTimeout(Duration timeout) {
    requireAtLeast("agentTimeout", timeout, Duration.ofMillis(20));
    this.agentTimeout = timeout;
    return this;
  }

  /**
   * The most clients this broker serves at once (local, never replicated): a new client beyond it gets
   * RESOURCE_EXHAUSTED naming the limit, and clients already connected go on. 1..1,000,000.
   */
  public NodeBuilder maxClients(int maxClients) {
    if (maxClients < 1 || maxClients > 1_000_000) {
      throw new IllegalArgumentException("maxClients must be in 1..1000000, was " + maxClients);
    }
    this.maxClients = maxClients;
    return this;
  }

  /** How long a client session without calls or open streams lives; at least 1s. */
  public NodeBuilder clientTimeout(Duration timeout) {
    requireAtLeast("clientTimeout", timeout, Duration.ofSeconds(1));
    this.clientTimeout = timeout;
    return this;
  }

  /**
   * How often the broker pings each connected agent (each ping tells the agent this interval, so an
   * agent that hears nothing for three of them moves to another broker); at least 10ms, and at most
   * half of {@link #agentTimeout}. Default: {@link #DEFAULT_AGENT_PING_INTERVAL}, or a third of the
   * agent timeout if that is shorter. Independent of the Raft {@link #heartbeatInterval}.
   */
  public NodeBuilder agentPingInterval(Duration interval) {
    requireAtLeast("agentPingInterval", interval, Duration.ofMillis(10));
    this.agentPingInterval = interval;
    return this;
  }

  /** How the broker leaves on {@link Node#shutdown()}: grace period and whether agents and watchers are told where to go. */
  public NodeBuilder shutdown(ShutdownConfig shutdown) {
    this.shutdown = Objects.requireNonNull(shutdown, "shutdown");
    return this;
  }

  /**
   * The most watch streams one client session may hold open on this broker, 1..1,000,000: one more
   * is refused with RESOURCE_EXHAUSTED naming the limit. Default {@link #DEFAULT_MAX_WATCHES_PER_CLIENT}.
   */
  public NodeBuilder maxWatchesPerClient(int max) {
    this.maxWatchesPerClient = requireInRange("maxWatchesPerClient", max, 1, 1_000_000);
    return this;
  }

  /**
   * The most instances one agent may own, 1..100,000: a register or update after which the agent
   * would own more (what it owns in this broker's replica plus what the message adds) is refused
   * whole with {@link RegistrationRejectedException.Reason#LIMIT} naming the limit. Checked by the
   * broker the agent is connected to. Default {@link #DEFAULT_MAX_INSTANCES_PER_AGENT}.
   */
  public NodeBuilder maxInstancesPerAgent(int max) {
    this.maxInstancesPerAgent = requireInRange("maxInstancesPerAgent", max, 1, 100_000);
    return this;
  }

  /**
   * The most writes this broker queues while the entry ahead of them commits, 1..1,000,000: one more
   * fails at once with {@link WriteLimitException} naming the limit, instead of waiting. Counts every
   * write through this broker (registrations, agent messages, the broker's own). Default
   * {@link #DEFAULT_MAX_PENDING_WRITES}.
   */
  public NodeBuilder maxPendingWrites(int max) {
    this.maxPendingWrites = requireInRange("maxPendingWrites", max, 1, 1_000_000);
    return this;
  }

  /**
   * How long a write may take, from its submission (time queued behind other writes included), to
   * commit and apply on this broker before it fails with {@link NoQuorumException}; at least 100ms.
   * The error says whether the write was still queued (then it will not commit) or may still commit.
   */
  public NodeBuilder writeTimeout(Duration timeout) {
    requireAtLeast("writeTimeout", timeout, Duration.ofMillis(100));
    this.writeTimeout = timeout;
    return this;
  }

  /**
   * A {@code host:port} of its own for the proxy (docs/proxy.md), beside {@link #address}: every call
   * there goes to an instance of the service that serves it, so a service's callers can point at a
   * broker as if it were the service; {@code grpc.health.v1.Health} there answers for the services
   * the broker routes to. Unset (the default): the proxy takes calls on {@link #address} only.
   */
  public NodeBuilder proxyAddress(String hostPort) {
    this.proxyAddress = HostAndPort.parse("proxyAddress", hostPort);
    return this;
  }

  /** How the broker proxies gRPC calls to instances: limits, balancing, outlier ejection (docs/proxy.md). */
  public NodeBuilder proxy(ProxyConfig proxy) {
    this.proxy = Objects.requireNonNull(proxy, "proxy");
    return this;
  }

  /** Snapshot interval, retention and compression. */
  public NodeBuilder snapshots(SnapshotConfig snapshots) {
    this.snapshots = Objects.requireNonNull(snapshots, "snapshots");
    return this;
  }

  /** The size of one Raft log segment file in bytes, 64 KiB..1 GiB; must hold at least one entry. */
  public NodeBuilder logSegmentSize(int bytes) {
    if (bytes < 64 * 1024 || bytes > 1 << 30) {
      throw new IllegalArgumentException("logSegmentSize must be in 65536..1073741824 bytes, was " + bytes);
    }
    this.segmentSize = bytes;
    return this;
  }

  /** The largest Raft log entry (one batch of commands) in bytes, 16 KiB..64 MiB. */
  public NodeBuilder maxEntrySize(int bytes) {
    if (bytes < 16 * 1024 || bytes > 64 << 20) {
      throw new IllegalArgumentException("maxEntrySize must be in 16384..67108864 bytes, was " + bytes);
    }
    this.maxEntrySize = bytes;
    return this;
  }

  /** The consensus engine to use instead of the one found with {@link java.util.ServiceLoader}. */
  public NodeBuilder consensus(ConsensusProvider provider) {
    this.consensus = Objects.requireNonNull(provider, "provider");
    return this;
  }

  /** The client-facing transport to use instead of the one found with {@link java.util.ServiceLoader}. */
  public NodeBuilder transport(TransportProvider provider) {
    this.transport = Objects.requireNonNull(provider, "provider");
    return this;
  }

  /**
   * Checks the settings, binds the Raft transport and starts the node. Returns once it listens; it
   * does not wait for a quorum (see {@link Node#ready()}).
   *
   * @throws IllegalStateException naming the setting when the settings do not fit together
   * @throws LinkBridgeException when no consensus engine is found or the node cannot start
   */
  public Node start() {
    if (id == null) {
      throw new IllegalStateException("id is not set: call id(\"broker-1\") before start()");
    }
    if (raftAddress == null) {
      throw new IllegalStateException("raftAddress is not set: call raftAddress(\"host:port\") before start()");
    }
    if (dataDir == null) {
      throw new IllegalStateException("dataDir is not set: call dataDir(path) before start()");
    }
    if (proxyAddress != null && address == null) {
      throw new IllegalStateException("proxyAddress " + proxyAddress + " needs address too: the proxy port is served beside the broker API;"
          + " call address(\"host:port\") as well");
    }
    if (proxyAddress != null && (proxyAddress.equals(address) || proxyAddress.equals(raftAddress))) {
      throw new IllegalStateException("proxyAddress " + proxyAddress + " must differ from address (" + address + ") and raftAddress ("
          + raftAddress + "): give the proxy a port of its own, or leave proxyAddress unset to proxy on address");
    }
    if (electionTimeout.compareTo(heartbeatInterval) <= 0) {
      throw new IllegalStateException("electionTimeout must be > heartbeatInterval (" + Durations.format(heartbeatInterval) + "), was "
          + Durations.format(electionTimeout));
    }
    Duration agentTimeoutOrDefault = agentTimeout != null ? agentTimeout
        : DEFAULT_AGENT_TIMEOUT.compareTo(heartbeatInterval.multipliedBy(3)) >= 0 ? DEFAULT_AGENT_TIMEOUT : heartbeatInterval.multipliedBy(3);
    if (agentTimeoutOrDefault.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
      throw new IllegalStateException("agentTimeout must be at least 2 x heartbeatInterval (" + Durations.format(heartbeatInterval.multipliedBy(2))
          + "), was " + Durations.format(agentTimeoutOrDefault));
    }
    Duration pingOrDefault = agentPingInterval != null ? agentPingInterval
        : DEFAULT_AGENT_PING_INTERVAL.compareTo(agentTimeoutOrDefault.dividedBy(3)) <= 0 ? DEFAULT_AGENT_PING_INTERVAL
        : agentTimeoutOrDefault.dividedBy(3);
    if (pingOrDefault.compareTo(agentTimeoutOrDefault.dividedBy(2)) > 0) {
      throw new IllegalStateException("agentPingInterval must be at most half of agentTimeout (" + Durations.format(agentTimeoutOrDefault.dividedBy(2))
          + "), was " + Durations.format(pingOrDefault));
    }
    if (maxEntrySize > segmentSize) {
      throw new IllegalStateException("maxEntrySize (" + maxEntrySize + ") must not exceed logSegmentSize (" + segmentSize + ")");
    }
    List<Peer> members = peers.isEmpty() ? List.of(new Peer(id, raftAddress)) : peers;
    Map<String, Peer> byId = new HashMap<>();
    members.forEach(p -> byId.put(p.id(), p));
    Peer self = byId.get(id);
    if (self == null) {
      throw new IllegalStateException("join(...) must list this broker: no peer has id '" + id + "' in " + members);
    }
    if (!self.raftAddress().equals(raftAddress)) {
      throw new IllegalStateException("raftAddress " + raftAddress + " differs from this broker's entry in join(...): " + self);
    }
    String clusterId = clusterName != null ? clusterName : derivedClusterId(members);
    NodeSettings settings = new NodeSettings(id, address, raftAddress, dataDir, members, clusterId, electionTimeout, heartbeatInterval, writeTimeout,
        agentTimeoutOrDefault, maxClients, clientTimeout,
        snapshots, segmentSize, maxEntrySize, discardDamagedState, consistencyCheckInterval, pingOrDefault, shutdown, maxWatchesPerClient,
        maxInstancesPerAgent, maxPendingWrites, proxy, proxyAddress, consensus, transport);
    return DefaultNode.start(settings);
  }

  /**
   * {@code members-<16 hex digits of SHA-256 over the sorted id=raftAddress pairs>}: equal for brokers
   * given the same member list, different for two clusters that both name their brokers broker-1..3.
   */
  private static String derivedClusterId(List<Peer> members) {
    String ids = members.stream().map(p -> p.id() + "=" + p.raftAddress()).sorted().collect(Collectors.joining(","));
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(ids.getBytes(StandardCharsets.UTF_8));
      return "members-" + HexFormat.of().formatHex(hash, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  private static int requireInRange(String name, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(name + " must be in " + min + ".." + max + ", was " + value);
    }
    return value;
  }

  private static void requireAtLeast(String name, Duration value, Duration min) {
    Objects.requireNonNull(value, name);
    if (value.compareTo(min) < 0) {
      throw new IllegalArgumentException(name + " must be at least " + Durations.format(min) + ", was " + Durations.format(value));
    }
  }

  @Override
  public String toString() {
    return "NodeBuilder{id=" + id + ", address=" + address + ", raftAddress=" + raftAddress + ", dataDir=" + dataDir + ", peers=" + peers
        + (clusterName == null ? "" : ", clusterName=" + clusterName) + ", electionTimeout=" + Durations.format(electionTimeout) + ", heartbeatInterval=" + Durations.format(heartbeatInterval)
        + ", writeTimeout=" + Durations.format(writeTimeout) + ", agentTimeout=" + (agentTimeout == null ? "default" : Durations.format(agentTimeout)) + ", maxClients=" + maxClients + ", clientTimeout=" + Durations.format(clientTimeout) + ", snapshots=" + snapshots + ", logSegmentSize=" + segmentSize
        + ", maxEntrySize=" + maxEntrySize + ", agentPingInterval=" + (agentPingInterval == null ? "default" : Durations.format(agentPingInterval))
        + ", shutdown=" + shutdown + ", maxWatchesPerClient=" + maxWatchesPerClient + ", maxInstancesPerAgent=" + maxInstancesPerAgent
        + ", maxPendingWrites=" + maxPendingWrites + ", proxy=" + proxy + (proxyAddress == null ? "" : ", proxyAddress=" + proxyAddress)
        + ", consensus=" + (consensus == null ? "ServiceLoader" : consensus.name())
        + ", transport=" + (transport == null ? "ServiceLoader" : transport.name()) + "}";
  }
}
