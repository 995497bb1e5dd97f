package io.linkbridge.raft.internal;

import io.atomix.cluster.MemberId;
import io.atomix.primitive.PrimitiveState;
import io.atomix.primitive.Recovery;
import io.atomix.primitive.impl.DefaultPrimitiveTypeRegistry;
import io.atomix.primitive.operation.OperationId;
import io.atomix.primitive.operation.PrimitiveOperation;
import io.atomix.primitive.partition.PartitionId;
import io.atomix.primitive.service.ServiceConfig;
import io.atomix.primitive.session.SessionClient;
import io.atomix.protocols.raft.RaftClient;
import io.atomix.protocols.raft.RaftServer;
import io.atomix.protocols.raft.ReadConsistency;
import io.atomix.protocols.raft.cluster.RaftMember;
import io.atomix.protocols.raft.impl.DefaultRaftServer;
import io.atomix.protocols.raft.impl.RaftContext;
import io.atomix.protocols.raft.partition.impl.RaftClientCommunicator;
import io.atomix.protocols.raft.partition.impl.RaftServerCommunicator;
import io.atomix.protocols.raft.session.CommunicationStrategy;
import io.atomix.protocols.raft.storage.RaftStorage;
import io.atomix.protocols.raft.storage.log.entry.RaftLogEntry;
import io.atomix.storage.StorageLevel;
import io.atomix.protocols.raft.storage.log.RaftLogReader;
import io.atomix.storage.journal.Indexed;
import io.atomix.utils.concurrent.ThreadContextFactory;
import io.atomix.utils.concurrent.ThreadModel;
import io.atomix.utils.serializer.Serializer;
import io.linkbridge.HostAndPort;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Peer;
import io.linkbridge.spi.ConsensusConfig;
import io.linkbridge.spi.ConsensusEngine;
import io.linkbridge.spi.MemberStatus;
import io.linkbridge.spi.NetworkFaults;
import io.linkbridge.spi.StateMachine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Link Bridge broker's Raft member on Atomix Raft 3.1.12: a Raft server holding the state
 * machine as its only primitive service, plus a Raft client session through which this broker
 * proposes. Proposals go to the leader over the session; Atomix deduplicates retried commands.
 *
 * <p>A proposal's future completes only after the entry is committed and applied on this member, so
 * a write is readable from the local replica as soon as it is acknowledged. Futures complete on an
 * engine thread, never on the Raft thread. Thread-safe.
 */
final class AtomixRaftEngine implements ConsensusEngine {
  private static final Logger log = LoggerFactory.getLogger(AtomixRaftEngine.class);
  private static final String PREFIX = "raft";
  private static final OperationId APPLY = OperationId.command("apply");
  private static final String TAKEOVER = "linkbridge-takeover";
  private static final Duration SESSION_MIN_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration SESSION_MAX_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration MAX_COMMIT_NOTICE_DELAY = Duration.ofMillis(20);
  private static final int THREADS = 4;
  /** How long a stop waits for the Raft server to go inactive and for the client to close its sessions. */
  private static final Duration STOP_STEP_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration GRACEFUL_LEAVE_TIMEOUT = Duration.ofSeconds(10);

  private final ConsensusConfig config;
  private final StateMachine stateMachine;
  private final MemberId localId;
  private final List<MemberId> memberIds = new ArrayList<>();
  private final Map<MemberId, HostAndPort> addresses = new LinkedHashMap<>();
  private final AppliedIndex appliedIndex = new AppliedIndex();
  private final CompletableFuture<SessionClient> session = new CompletableFuture<>();
  private final ExecutorService completions;
  private final ScheduledExecutorService timer;
  private final LogForcer forcer;
  private final VoteAbstention voteAbstention = new VoteAbstention();
  private final GrpcMessaging messaging;
  /** The Raft client's threads (non-daemon): ours, so they end even when the client's close does not finish in time. */
  private final ThreadContextFactory clientThreads;
  private volatile RaftContext context;
  private volatile RaftServer server;
  private volatile RaftClient client;
  private volatile boolean stopped;
  private final AtomicBoolean leaving = new AtomicBoolean();
  private boolean released; // guarded by this
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private volatile CompletableFuture<Void> ready;
  private final List<Consumer<Throwable>> failureListeners = new CopyOnWriteArrayList<>();
  private final AtomicBoolean failed = new AtomicBoolean();
  /** When this member began waiting for its session, and the WARNs while it waits. */
  private volatile long sessionWaitSince;
  private final RateLimitedLog sessionWarnings = new RateLimitedLog(10, TimeUnit.SECONDS);

  AtomixRaftEngine(ConsensusConfig config, StateMachine stateMachine) {
    this(config, stateMachine, LogForcer.Disk.REAL);
  }

  /** With {@code disk} doing the fsyncs: tests model power loss and failing disks with it. */
  AtomixRaftEngine(ConsensusConfig config, StateMachine stateMachine, LogForcer.Disk disk) {
    this.config = config;
    this.stateMachine = stateMachine;
    this.localId = MemberId.from(config.memberId());
    for (Peer p : config.members()) {
      MemberId id = MemberId.from(p.id());
      memberIds.add(id);
      addresses.put(id, p.raftAddress());
    }
    String name = config.memberId();
    this.completions = Executors.newSingleThreadExecutor(r -> daemon(r, "linkbridge-raft-completions-" + name));
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "linkbridge-raft-timer-" + name));
    this.forcer = new LogForcer(config.dataDir(), PREFIX, name, disk, this::storageFailed);
    this.clientThreads = ThreadModel.SHARED_THREAD_POOL.factory("linkbridge-raft-client-" + name + "-%d", THREADS, log);
    this.messaging = new GrpcMessaging(localId, config.clusterId(), config.raftAddress(), config.apiAddress(), addresses, config.requestTimeout(),
        new RaftMessageInterceptors(new AppendDurability(forcer), new RedundantInstallFilter(this::appliedIndex), voteAbstention));
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  @Override
  public CompletableFuture<Void> start() {
    try {
      DamageMarker.finishInterruptedDiscard(config.dataDir()); // before anything creates an empty directory in its place
      Files.createDirectories(config.dataDir());
    } catch (IOException e) {
      return CompletableFuture.failedFuture(new LinkBridgeException("cannot create the Raft directory " + config.dataDir() + ": " + e.getMessage(), e));
    }
    try {
      checkStoredState();
    } catch (IOException e) {
      return CompletableFuture.failedFuture(new LinkBridgeException("broker " + config.memberId() + " cannot read its Raft log in "
          + config.dataDir() + ": " + e.getMessage(), e));
    } catch (LinkBridgeException e) {
      return CompletableFuture.failedFuture(e);
    }
    RaftStorage storage = RaftStorage.builder()
        .withPrefix(PREFIX)
        .withDirectory(config.dataDir().toFile())
        .withStorageLevel(StorageLevel.DISK)
        .withMaxSegmentSize(config.segmentSize())
        .withMaxEntrySize(config.maxEntrySize())
        .withNamespace(RaftSerializers.STORAGE)
        .withDynamicCompaction(false)
        .build();
    // Atomix's "lock" is a file naming the member the directory belongs to; the node's OS lock on
    // its dataDir is what keeps a second broker out. This file is never deleted: it is not ours.
    if (!storage.lock(config.memberId())) {
      return CompletableFuture.failedFuture(new LinkBridgeException("the Raft directory " + config.dataDir()
          + " belongs to another broker than '" + config.memberId() + "' (its ." + PREFIX + ".lock names that one)"
          + ": start this broker with the id it had, or give each broker its own dataDir"));
    }
    try {
      messaging.start();
      startServer(storage);
    } catch (RuntimeException e) {
      shutdownNow();
      return CompletableFuture.failedFuture(e);
    }
    return CompletableFuture.completedFuture(null);
  }

  private void startServer(RaftStorage storage) {
    Serializer protocol = Serializer.using(RaftSerializers.PROTOCOL);
    EntryTerms terms = new EntryTerms();
    RegistryPrimitiveType type = new RegistryPrimitiveType(stateMachine, appliedIndex, terms, this::snapshotDamaged);
    RaftContext raft = new RaftContext(
        PREFIX,
        localId,
        new StaticMembership(config.memberId(), addresses),
        new RaftServerCommunicator(PREFIX, protocol, messaging),
        storage,
        new DefaultPrimitiveTypeRegistry(List.of(type)),
        ThreadModel.SHARED_THREAD_POOL.factory("linkbridge-raft-" + config.memberId() + "-%d", THREADS, log),
        true);
    TruncationGuard.install(raft, terms);
    raft.setElectionTimeout(config.electionTimeout());
    raft.setHeartbeatInterval(raftHeartbeat(config));
    raft.setSessionTimeout(SESSION_MIN_TIMEOUT);
    context = raft;
    server = new DefaultRaftServer(raft);
    client = RaftClient.builder()
        .withClientId(config.memberId())
        .withMemberId(localId)
        .withPartitionId(PartitionId.from("linkbridge", 1))
        .withProtocol(new RaftClientCommunicator(PREFIX, protocol, messaging))
        .withThreadContextFactory(clientThreads)
        .build();
    server.bootstrap(memberIds).whenComplete((s, e) -> {
      if (e != null && !stopped) {
        log.warn("Raft member {} failed to bootstrap: {}", config.memberId(), e.toString());
      }
    });
    messaging.subscribe(TAKEOVER, bytes -> bytes, request -> takeOver(), reply -> reply);
    sessionWaitSince = System.nanoTime();
    openSession(type);
    // Atomix keeps retrying a session it cannot open without failing it: look every second.
    ScheduledFuture<?> watch = timer.scheduleWithFixedDelay(this::warnIfWaitingLong, 1, 1, TimeUnit.SECONDS);
    session.whenComplete((s, e) -> watch.cancel(false));
  }

  /**
   * Before Atomix opens the log: a torn write at its tail is logged and left for Atomix to overwrite;
   * damage anywhere else (or a snapshot found damaged before) stops the start, unless the operator
   * chose to discard the damaged state, which is then moved aside.
   */
  private void checkStoredState() throws IOException {
    if (DamageMarker.catchingUp(config.dataDir())) {
      voteAbstention.abstainUntilCaughtUp(); // restarted before it caught up after a discard
    }
    Optional<String> damage = DamageMarker.read(config.dataDir());
    if (damage.isEmpty()) {
      Optional<LogIntegrityCheck.Finding> finding = LogIntegrityCheck.check(config.dataDir(), PREFIX, config.maxEntrySize());
      if (finding.isPresent() && !finding.get().damaged()) {
        log.warn("Raft member {}: {}; the log ends before it (the write was never acknowledged)", config.memberId(), finding.get().describe());
      }
      damage = finding.filter(LogIntegrityCheck.Finding::damaged).map(LogIntegrityCheck.Finding::describe);
    }
    if (damage.isEmpty()) {
      return;
    }
    if (!config.discardDamagedState()) {
      throw new LinkBridgeException("broker " + config.memberId() + " will not start on damaged Raft state: " + damage.get()
          + ". Starting anyway would silently drop every entry after it, acknowledged writes included. Restore " + config.dataDir()
          + " from a backup, or start this broker once with discardDamagedState(true) to move its Raft state aside and catch up from"
          + " the other brokers (only while they hold a majority with the data)");
    }
    Path aside = DamageMarker.moveAside(config.dataDir(), PREFIX);
    voteAbstention.abstainUntilCaughtUp();
    log.warn("Raft member {}: {}; discarding its Raft state as configured (moved to {}, Raft term and vote kept): it catches up from the"
        + " other brokers and grants no vote until it has", config.memberId(), damage.get(), aside);
  }

  /**
   * Followers learn that an entry is committed only from the leader's next append; when no write
   * follows, that is the next heartbeat. A write through a follower completes only once that follower
   * has applied it, so the leader heartbeats at least every {@link #MAX_COMMIT_NOTICE_DELAY}: a
   * few dozen tiny messages a second instead of writes through followers taking a heartbeat interval.
   */
  static Duration raftHeartbeat(ConsensusConfig config) {
    return config.heartbeatInterval().compareTo(MAX_COMMIT_NOTICE_DELAY) < 0 ? config.heartbeatInterval() : MAX_COMMIT_NOTICE_DELAY;
  }

  /** Opens the proposal session once a leader can grant it; retries until it succeeds or the engine stops. */
  private void openSession(RegistryPrimitiveType type) {
    if (stopped) {
      return;
    }
    client.connect(memberIds)
        .thenCompose(c -> client.sessionBuilder(RegistryPrimitiveType.NAME, type, new ServiceConfig())
            .withReadConsistency(ReadConsistency.LINEARIZABLE)
            .withCommunicationStrategy(CommunicationStrategy.LEADER)
            .withRecoveryStrategy(Recovery.RECOVER)
            .withMinTimeout(SESSION_MIN_TIMEOUT)
            .withMaxTimeout(SESSION_MAX_TIMEOUT)
            .build()
            .connect())
        .whenComplete((s, e) -> {
          if (e == null) {
            s.addStateChangeListener(state -> {
              if (state != PrimitiveState.CONNECTED) {
                log.debug("Raft session of {} is {}", config.memberId(), state);
              }
            });
            session.complete(s);
          } else if (!stopped) {
            log.debug("Raft member {} could not open its session yet ({}); retrying", config.memberId(), e.toString());
            timer.schedule(() -> openSession(type), config.electionTimeout().toMillis(), TimeUnit.MILLISECONDS); // about when a leader appears
          }
        });
  }

  /**
   * A member that cannot open its session cannot serve (ready() waits for it): past a few election
   * timeouts that is no longer an election but a misconfiguration or a down majority, so say which
   * peers do not answer (WARN, at most every 10 s).
   */
  private void warnIfWaitingLong() {
    Duration waited = Duration.ofNanos(System.nanoTime() - sessionWaitSince);
    if (session.isDone() || stopped || waited.compareTo(sessionWarnAfter(config)) < 0) {
      return;
    }
    List<String> silent = messaging.silentPeers(sessionWarnAfter(config));
    sessionWarnings.warn("session", () -> log.warn("Raft member {} has not joined the cluster for {} s: it cannot serve (ready() waits) until"
        + " a leader takes its session. {}", config.memberId(), waited.toSeconds(), silent.isEmpty()
            ? "Every peer answers, but no leader took its session: check that a majority of " + memberIds + " runs the same member list"
            : "Not answering: " + String.join(", ", silent) + "; check that those brokers run and that join(...) lists their raftAddress"));
  }

  /** How long a member waits for its session before it WARNs: 4 election timeouts, at least 3 s. */
  static Duration sessionWarnAfter(ConsensusConfig config) {
    Duration four = config.electionTimeout().multipliedBy(4);
    return four.compareTo(Duration.ofSeconds(3)) < 0 ? Duration.ofSeconds(3) : four;
  }

  @Override
  public CompletableFuture<byte[]> propose(byte[] entry) {
    if (stopped) {
      return CompletableFuture.failedFuture(new LinkBridgeException("Raft member " + config.memberId() + " is stopped"));
    }
    return session.thenCompose(s -> s.execute(PrimitiveOperation.operation(APPLY, entry)))
        .thenComposeAsync(this::afterCommit, completions);
  }

  /** Unwraps {@code [index][term][result]} and waits until this member has applied that index. */
  private CompletableFuture<byte[]> afterCommit(byte[] reply) {
    ByteBuffer buf = ByteBuffer.wrap(reply);
    long index = buf.getLong();
    long term = buf.getLong();
    byte[] result = new byte[buf.remaining()];
    buf.get(result);
    CompletableFuture<Void> durable = memberIds.size() == 1
        ? forcer.force(0, index) // no follower acknowledges a single member's appends: force here
        : CompletableFuture.completedFuture(null);
    if (appliedIndex.get() < index && context != null) {
      context.getThreadContext().execute(() -> learnCommit(index, term));
    }
    return durable.thenCompose(v -> appliedIndex.await(index)).thenApplyAsync(v -> result, completions);
  }

  /**
   * Raft thread. The leader's reply to our proposal says that the entry of {@code term} at
   * {@code index} is committed; a follower otherwise learns that only from the leader's next append,
   * up to a heartbeat later. If this member's log holds an entry of the same term at that index, the
   * log up to it is the leader's (Raft's log matching: one leader writes the entries of a term), so
   * it can be applied at once. Only the term of that very entry proves it: a restarted member whose
   * tail holds entries it wrote itself as an earlier leader, never committed, must not apply them.
   */
  private void learnCommit(long index, long term) {
    RaftContext c = context;
    if (c == null || stopped || c.getCommitIndex() >= index || c.getRole() != RaftServer.Role.FOLLOWER
        || c.getLogWriter().getLastIndex() < index) {
      return;
    }
    Indexed<RaftLogEntry> last = c.getLogWriter().getLastEntry();
    Indexed<RaftLogEntry> entry = last != null && last.index() == index ? last : read(c.getLogReader(), index);
    if (entry == null || entry.entry().term() != term) {
      return; // not (yet) the leader's entry: the leader's next append tells
    }
    c.setCommitIndex(index);
    c.getServiceManager().applyAll(index);
  }

  /** Raft thread: the entry at {@code index} through the member's own reader (the one appends are checked with), or null. */
  private static Indexed<RaftLogEntry> read(RaftLogReader reader, long index) {
    if (reader.getNextIndex() != index) {
      reader.reset(index);
    }
    if (!reader.hasNext()) {
      return null;
    }
    Indexed<RaftLogEntry> entry = reader.next();
    return entry.index() == index ? entry : null;
  }

  @Override
  public CompletableFuture<Void> ready() {
    CompletableFuture<Void> r = ready;
    if (r == null || r.isCompletedExceptionally()) {
      // An empty entry is the state machine's barrier: applied, it changes nothing.
      r = propose(new byte[0]).thenApply(v -> (Void) null);
      r.thenRun(this::caughtUp);
      ready = r;
    }
    return r;
  }

  /** The ready() barrier is applied: this member holds what the leader had committed, and may vote again. */
  private void caughtUp() {
    if (voteAbstention.abstaining()) {
      voteAbstention.caughtUp();
      try {
        DamageMarker.caughtUp(config.dataDir());
      } catch (IOException e) {
        log.warn("Raft member {} could not remove {}: {}", config.memberId(), DamageMarker.CATCHING_UP, e.toString());
      }
      log.info("Raft member {} caught up after discarding its state: it votes again", config.memberId());
    }
  }

  @Override
  public Optional<String> leaderId() {
    RaftContext c = context;
    RaftMember leader = c == null ? null : c.getLeader();
    return leader == null ? Optional.empty() : Optional.of(leader.memberId().id());
  }

  @Override
  public boolean isLeader() {
    RaftServer s = server;
    return s != null && !stopped && s.isLeader();
  }

  @Override
  public long term() {
    RaftContext c = context;
    return c == null ? 0 : c.getTerm();
  }

  @Override
  public void onLeaderChange(Consumer<Optional<String>> listener) {
    server.cluster().addLeaderElectionListener(m -> listener.accept(m == null ? Optional.empty() : Optional.of(m.memberId().id())));
  }

  /**
   * Atomix opens a log segment only while its directory's disk has 3 x the segment size free (else
   * the append fails, the leader retries after compacting, and the write times out as if no majority
   * answered): say so, with the path and the free space.
   */
  @Override
  public Optional<String> storageProblem() {
    try {
      return storageProblem(config.memberId(), config.dataDir(), Files.getFileStore(config.dataDir()).getUsableSpace(), config.segmentSize());
    } catch (IOException | RuntimeException e) {
      return Optional.of("broker " + config.memberId() + " cannot read the free space of its Raft log's disk at " + config.dataDir() + ": " + e);
    }
  }

  static Optional<String> storageProblem(String memberId, Path dataDir, long usableBytes, int segmentSize) {
    long needed = 3L * segmentSize;
    if (usableBytes >= needed) {
      return Optional.empty();
    }
    return Optional.of("broker " + memberId + " cannot append to its Raft log: the disk of " + dataDir + " has " + mib(usableBytes)
        + " free, and the Raft log needs 3 x logSegmentSize (" + mib(needed) + ") free to start a segment; free space on that disk,"
        + " or lower NodeBuilder.logSegmentSize");
  }

  private static String mib(long bytes) {
    return bytes >= 10L << 20 ? (bytes >> 20) + " MiB" : bytes + " bytes";
  }

  @Override
  public Optional<NetworkFaults> networkFaults() {
    return Optional.of(messaging.faults());
  }

  @Override
  public void onFailure(Consumer<Throwable> listener) {
    failureListeners.add(listener);
  }

  /**
   * The log could not be forced: this member can no longer vouch for what it acknowledged, so it
   * leaves the cluster at once (its peers see it as crashed) and every proposal fails from now on.
   */
  private void storageFailed(Throwable cause) {
    if (!failed.compareAndSet(false, true)) {
      return;
    }
    stopped = true; // no proposal from now on
    log.error("Raft member {} stops: {}", config.memberId(), cause.getMessage());
    failureListeners.forEach(l -> l.accept(cause));
    Thread stopper = new Thread(this::shutdownNow, "linkbridge-raft-stop-" + config.memberId());
    stopper.setDaemon(true);
    stopper.start();
  }

  @Override
  public void markDamaged(String reason) {
    try {
      DamageMarker.write(config.dataDir(), reason);
    } catch (IOException e) {
      log.error("Raft member {} could not record the damage in {}: {}", config.memberId(), config.dataDir(), e.toString());
    }
  }

  /** A Raft snapshot failed its checksum on restore: remember it for the next start, and stop. */
  private void snapshotDamaged(String what) {
    markDamaged(what);
    storageFailed(new IOException(what));
  }

  @Override
  public long commitIndex() {
    RaftContext c = context;
    return c == null ? 0 : c.getCommitIndex();
  }

  @Override
  public long appliedIndex() {
    RaftContext c = context;
    return c == null ? 0 : c.getLastApplied();
  }

  @Override
  public List<MemberStatus> members() {
    Optional<String> leader = leaderId();
    RaftContext c = context;
    boolean leading = isLeader() && c != null;
    long now = System.currentTimeMillis();
    List<MemberStatus> out = new ArrayList<>();
    for (MemberId id : memberIds) {
      boolean local = id.equals(localId);
      String role = local && server != null ? server.getRole().name() : leader.filter(id.id()::equals).isPresent() ? "LEADER" : "UNKNOWN";
      long sinceContact = -1;
      if (leading && !local) {
        var state = c.getCluster().getMemberState(id);
        long answered = state == null ? 0 : state.getResponseTime();
        sinceContact = answered > 0 ? Math.max(0, now - answered) : -1; // not heard in this term yet: the caller bounds it
      }
      out.add(new MemberStatus(id.id(), addresses.get(id).toString(), role, local, sinceContact));
    }
    return out;
  }

  @Override
  public CompletableFuture<Void> compact() {
    RaftServer s = server;
    return s == null ? CompletableFuture.completedFuture(null) : s.compact();
  }

  /** How often the log was forced to disk: for tests that prove durability. */
  long forceCount() {
    return forcer.forceCount();
  }

  /** Asked by a leader that is leaving: become leader through Atomix's leadership transfer. */
  private CompletableFuture<byte[]> takeOver() {
    RaftServer s = server;
    if (s == null || stopped) {
      return CompletableFuture.failedFuture(new IllegalStateException(config.memberId() + " is not running"));
    }
    return s.promote().thenApply(v -> new byte[0]);
  }

  @Override
  public CompletableFuture<Void> transferLeadership(String memberId) {
    MemberId target = MemberId.from(memberId);
    if (!addresses.containsKey(target)) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("no member '" + memberId + "' in " + addresses.keySet()));
    }
    if (target.equals(localId)) {
      return takeOver().thenApply(v -> null);
    }
    Duration timeout = config.electionTimeout().multipliedBy(2);
    return messaging.<byte[], byte[]>send(TAKEOVER, new byte[0], bytes -> bytes, bytes -> bytes, target, timeout)
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(v -> null);
  }

  /**
   * A leader that leaves asks a follower to take over, so the cluster does not wait an election
   * timeout for a new leader. Best effort: if the hand-over does not finish within an election
   * timeout, the followers elect a leader as after a crash.
   */
  private CompletableFuture<Void> handOverLeadership() {
    if (!isLeader() || memberIds.size() < 2) {
      return CompletableFuture.completedFuture(null);
    }
    MemberId successor = memberIds.stream().filter(id -> !id.equals(localId)).findFirst().orElseThrow();
    return transferLeadership(successor.id()).handle((r, e) -> {
      if (e != null) {
        log.info("Raft member {} could not hand leadership to {} ({}); the cluster will elect a leader", config.memberId(), successor, e.toString());
      } else {
        log.info("Raft member {} handed leadership to {}", config.memberId(), successor);
      }
      return null;
    });
  }

  @Override
  public CompletableFuture<Void> shutdown() {
    if (leaving.compareAndSet(false, true)) {
      handOverLeadership()
          .thenCompose(v -> closeSession())
          .orTimeout(GRACEFUL_LEAVE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .whenComplete((v, e) -> {
            // Releasing blocks for a while; not on whichever Atomix or gRPC thread completed the leave.
            Thread t = new Thread(this::release, "linkbridge-raft-stop-" + config.memberId());
            t.setDaemon(true);
            t.start();
          });
    }
    return terminated;
  }

  private CompletableFuture<Void> closeSession() {
    stopped = true;
    CompletableFuture<Void> close = session.isDone() && !session.isCompletedExceptionally()
        ? session.join().close().exceptionally(e -> null)
        : CompletableFuture.completedFuture(null);
    session.completeExceptionally(new LinkBridgeException("Raft member " + config.memberId() + " is stopped"));
    return close;
  }

  @Override
  public void shutdownNow() {
    release();
  }

  /**
   * Ends everything {@link #start()} began, on every path: graceful or not, after a failed start,
   * during a graceful leave (a second caller waits for the first). The network goes first, so
   * nothing below waits for a peer.
   */
  private synchronized void release() {
    if (released) {
      return;
    }
    stopped = true;
    session.completeExceptionally(new LinkBridgeException("Raft member " + config.memberId() + " is stopped"));
    messaging.stop();
    closeClient();
    closeServer();
    forcer.close();
    timer.shutdownNow();
    completions.shutdown();
    appliedIndex.failAll(new LinkBridgeException("Raft member " + config.memberId() + " is stopped"));
    released = true;
    terminated.complete(null);
  }

  private void closeClient() {
    RaftClient c = client;
    if (c != null) {
      try {
        c.close().get(STOP_STEP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        log.debug("Raft client of {} did not close cleanly: {}", config.memberId(), e.toString());
      }
    }
    clientThreads.close();
  }

  /**
   * Stops the Raft server and closes its log and threads, here and now. Atomix's
   * {@code RaftServer.shutdown()} refuses a server whose bootstrap has not finished (with static
   * membership it never does: its join completes only on a member's OK, and no member gives one) and
   * closes the storage later on another thread; this does what it does, in every state.
   */
  private void closeServer() {
    RaftContext c = context;
    if (c == null) {
      return;
    }
    CompletableFuture<Void> inactive = new CompletableFuture<>();
    try {
      c.getThreadContext().execute(() -> {
        try {
          c.transition(RaftServer.Role.INACTIVE);
        } finally {
          inactive.complete(null);
        }
      });
      inactive.get(STOP_STEP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      log.debug("Raft member {} did not go inactive cleanly: {}", config.memberId(), e.toString());
    }
    c.close();
  }
}
