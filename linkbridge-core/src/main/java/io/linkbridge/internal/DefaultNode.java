package io.linkbridge.internal;

import io.linkbridge.Durations;
import io.linkbridge.HostAndPort;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.Node;
import io.linkbridge.NodeMetrics;
import io.linkbridge.ProxyStats;
import io.linkbridge.Registry;
import io.linkbridge.ShutdownConfig;
import io.linkbridge.internal.agent.AgentRegistrar;
import io.linkbridge.internal.agent.BrokerAgentSessions;
import io.linkbridge.internal.consistency.ReplicaConsistencyCheck;
import io.linkbridge.internal.liveness.AgentLiveness;
import io.linkbridge.internal.liveness.BrokerLiveness;
import io.linkbridge.internal.liveness.StallDetector;
import io.linkbridge.internal.registry.RegistryStateMachine;
import io.linkbridge.internal.watch.WatchHub;
import io.linkbridge.spi.BrokerContext;
import io.linkbridge.spi.BrokerTransport;
import io.linkbridge.spi.Clock;
import io.linkbridge.spi.ConsensusConfig;
import io.linkbridge.spi.ConsensusEngine;
import io.linkbridge.spi.ConsensusProvider;
import io.linkbridge.spi.Readiness;
import io.linkbridge.spi.TransportProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The broker node: the registry state machine, its consensus engine, group commit and snapshots. */
public final class DefaultNode implements Node {
  private static final Logger log = LoggerFactory.getLogger(DefaultNode.class);
  /** Raft entries in flight at once; each carries every command that queued behind the previous ones. */
  private static final int MAX_ENTRIES_IN_FLIGHT = 1;
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);
  private static final long LEAVE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  /** How long shutdownNow waits for the node to terminate, and how often a slow stop is logged. */
  private static final Duration TERMINATION_WAIT = Duration.ofSeconds(10);

  private final NodeSettings settings;
  private final RegistryStateMachine stateMachine = new RegistryStateMachine();
  private final ConsensusEngine engine;
  private final GroupCommit groupCommit;
  /** Completes the callers' write futures, so their callbacks never run on a Raft thread. */
  private final ExecutorService writeCallbacks;
  private final ReplicatedRegistry registry;
  private final AgentRegistrations agentRegistrations;
  private final BrokerAgentSessions agentSessions;
  private final BrokerAnnouncement announcement;
  private final SnapshotFiles snapshotFiles;
  private final ScheduledExecutorService scheduler;
  private final StallDetector stalls;
  private final BrokerReadiness readiness;
  private final ScheduledExecutorService consistencyWorker;
  private final ScheduledExecutorService writeTimeouts;
  private final ReplicaConsistencyCheck consistency;
  private final ScheduledExecutorService brokerLiveness;
  private final ScheduledExecutorService agentLivenessThread;
  private final AgentLiveness agentLiveness;
  private final WatchHub watchHub;
  /** Completed by shutdownNow: a graceful leave still waiting for agents and watchers stops waiting. */
  private final CompletableFuture<Void> leaveCut = new CompletableFuture<>();
  /** When the grace period of a graceful shutdown ends (System.nanoTime), once it began. */
  private volatile long graceEnds;
  private final DataDirLock dataDirLock;
  private final AtomicBoolean shutdown = new AtomicBoolean();
  private final AtomicBoolean stopping = new AtomicBoolean();
  /** Completes once the engine has released the Raft directory, its threads and its port. */
  private final CompletableFuture<Void> engineStopped = new CompletableFuture<>();
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private volatile BrokerTransport transport;
  private final LocalClientSessions clients;
  private volatile long lastSnapshotRevision = -1;

  private DefaultNode(NodeSettings settings, ConsensusProvider provider, DataDirLock dataDirLock) {
    this.settings = settings;
    this.dataDirLock = dataDirLock;
    ConsensusConfig config = new ConsensusConfig(settings.id(), settings.raftAddress(), settings.members(), settings.clusterId(), settings.dataDir().resolve("raft"),
        settings.electionTimeout(), settings.heartbeatInterval(), settings.electionTimeout().multipliedBy(2), settings.maxEntrySize(),
        settings.segmentSize(), settings.discardDamagedState(), settings.address());
    this.engine = provider.create(config, stateMachine);
    ScheduledThreadPoolExecutor timeouts = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "linkbridge-write-timeouts-" + settings.id());
      t.setDaemon(true);
      return t;
    });
    timeouts.setRemoveOnCancelPolicy(true); // one timer per write: answered ones leave the queue at once
    this.writeTimeouts = timeouts;
    this.writeCallbacks = writeCallbackThreads(settings.id());
    this.groupCommit = new GroupCommit(engine::propose, new GroupCommit.Limits(settings.maxEntrySize() - 1024, MAX_ENTRIES_IN_FLIGHT,
        settings.maxPendingWrites(), settings.writeTimeout()), writeTimeouts, writeCallbacks, Clock.system(), engine::storageProblem);
    this.registry = new ReplicatedRegistry(stateMachine, groupCommit);
    this.agentRegistrations = new AgentRegistrations(settings.id(), groupCommit, stateMachine::state, settings.maxInstancesPerAgent());
    this.clients = new LocalClientSessions(settings.maxClients(), settings.clientTimeout());
    this.snapshotFiles = new SnapshotFiles(settings.dataDir().resolve("snapshots"), settings.snapshots().retention(), settings.snapshots().compress());
    this.scheduler = singleThread("linkbridge-snapshots-" + settings.id());
    this.brokerLiveness = singleThread("linkbridge-broker-liveness-" + settings.id());
    this.agentLivenessThread = singleThread("linkbridge-agent-liveness-" + settings.id());
    this.stalls = new StallDetector(settings.id(), Clock.system(), StallDetector.thresholdFor(settings.agentTimeout()));
    this.agentLiveness = new AgentLiveness(settings.id(), stalls, settings.agentTimeout());
    this.agentSessions = new BrokerAgentSessions(settings.id(), registry, agentRegistrations, agentLiveness, settings.agentPingInterval());
    this.readiness = new BrokerReadiness(settings.id());
    this.watchHub = new WatchHub(settings.id(), registry, readiness, engine::commitIndex, settings.maxWatchesPerClient(), WatchHub.MAX_QUEUED,
        WatchHub.HISTORY_EVENTS, Clock.system());
    registry.subscribe(watchHub); // before the engine starts: a restored snapshot reaches the hub too
    engine.onFailure(this::failed);
    this.consistencyWorker = singleThread("linkbridge-consistency-" + settings.id());
    this.announcement = new BrokerAnnouncement(settings.id(), settings.address(), settings.raftAddress(), settings.members(), stateMachine::state,
        groupCommit, writeCallbacks, settings.electionTimeout());
    this.consistency = new ReplicaConsistencyCheck(settings.id(), registry, groupCommit, () -> settings.members().size(),
        () -> readiness.notServing().isEmpty(), consistencyWorker, why -> {
          readiness.failed(why);
          engine.markDamaged(why); // its next start refuses this replica; discardDamagedState(true) rebuilds it safely
        });
    stateMachine.consistencyListener(consistency);
  }

  /** The engine can no longer be trusted (see {@link ConsensusEngine#onFailure}): stop serving, loudly, for good. */
  private void failed(Throwable cause) {
    String reason = "broker " + settings.id() + " stopped serving: " + cause.getMessage()
        + "; check the disk of " + settings.dataDir() + ", then restart the broker (or replace it and let it catch up from the others)";
    log.error("{}", reason, cause);
    readiness.failed(reason);
  }

  /** Serves once the engine has caught up (its barrier applied); tries again until it has, or the node stops. */
  private void awaitCaughtUp() {
    if (shutdown.get()) {
      return;
    }
    engine.ready().whenComplete((v, e) -> {
      if (e == null) {
        readiness.serving();
        log.info("Broker {} caught up at revision {}: serving", settings.id(), registry.revision());
        consistency.mark(); // compare this replica with the others now, not only at the next interval
        announcement.announce(); // where a leaving broker sends agents and watchers: only a caught-up replica knows whether it is there
      } else if (!shutdown.get()) {
        log.debug("Broker {} has not caught up yet ({}); trying again", settings.id(), e.toString());
        try {
          scheduler.schedule(this::awaitCaughtUp, settings.electionTimeout().toMillis(), TimeUnit.MILLISECONDS); // about when a leader appears
        } catch (RejectedExecutionException stopped) {
          // shut down meanwhile
        }
      }
    });
  }

  /**
   * Threads made as needed (idle ones end after a minute): a caller's callback that blocks holds one
   * of them, never the write path or the other callers.
   */
  private static ExecutorService writeCallbackThreads(String id) {
    AtomicInteger n = new AtomicInteger();
    return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
      Thread t = new Thread(r, "linkbridge-write-callbacks-" + id + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  private static ScheduledExecutorService singleThread(String name) {
    return Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
  }

  /** Creates and starts a node; returns once its transport listens. */
  public static Node start(NodeSettings settings) {
    ConsensusProvider provider = settings.consensus() != null ? settings.consensus() : discoverProvider();
    try {
      Files.createDirectories(settings.dataDir());
    } catch (IOException e) {
      throw new LinkBridgeException("cannot create dataDir " + settings.dataDir() + ": " + e.getMessage() + "; check the path and its permissions", e);
    }
    TransportProvider transportProvider = settings.address() == null ? null
        : settings.transport() != null ? settings.transport() : discoverTransport(settings);
    DataDirLock lock = DataDirLock.acquire(settings.dataDir(), settings.id()); // before anything reads or writes the directory
    DefaultNode node;
    try {
      node = new DefaultNode(settings, provider, lock);
    } catch (RuntimeException | Error e) {
      lock.release();
      throw e;
    }
    try {
      node.startServing(transportProvider);
    } catch (RuntimeException | Error e) { // a broken class path (NoClassDefFoundError) too: nothing of the start may outlive it
      try {
        node.shutdownNow(); // releases whatever the start took, the data directory's lock included
      } catch (RuntimeException | Error cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
    log.info("Broker {} started: raft {} with {} provider, members {}", settings.id(), settings.raftAddress(), provider.name(), settings.members());
    return node;
  }

  private void startServing(TransportProvider transportProvider) {
    stalls.start();
    try {
      engine.start().join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw cause instanceof LinkBridgeException lbe ? lbe : new LinkBridgeException("broker " + id() + " failed to start: " + cause.getMessage(), cause);
    }
    if (transportProvider != null) {
      transport = transportProvider.start(new BrokerContext(id(), settings.address(), registry, clients, readiness, watchHub, agentSessions,
          settings.proxy(), settings.proxyAddress()));
    }
    long beat = brokerCheckInterval(settings.agentTimeout()).toMillis();
    long ping = settings.agentPingInterval().toMillis();
    BrokerLiveness liveness = new BrokerLiveness(id(), engine, registry, groupCommit, stalls, settings.agentTimeout());
    brokerLiveness.scheduleWithFixedDelay(() -> {
      try {
        liveness.check();
      } catch (RuntimeException e) {
        log.error("Broker {}: broker liveness check failed; it runs again in {} ms", id(), beat, e);
      }
    }, beat, beat, TimeUnit.MILLISECONDS);
    agentLivenessThread.scheduleWithFixedDelay(() -> {
      try {
        agentLiveness.check();
      } catch (RuntimeException e) {
        log.error("Broker {}: agent liveness check failed; it runs again in {} ms", id(), ping, e);
      }
    }, ping, ping, TimeUnit.MILLISECONDS);
    awaitCaughtUp();
    long check = settings.consistencyCheckInterval().toMillis();
    consistencyWorker.scheduleWithFixedDelay(() -> {
      if (engine.isLeader()) {
        consistency.mark();
      }
    }, check, check, TimeUnit.MILLISECONDS);
    long every = settings.snapshots().interval().toMillis();
    scheduler.scheduleWithFixedDelay(this::scheduledSnapshot, every, every, TimeUnit.MILLISECONDS);
  }

  /**
   * How often the leader looks for brokers silent past the agent timeout: a tenth of it (10 ms..500 ms),
   * so a crashed broker's agents are detached at most a tenth late. Not the Raft heartbeat: that is
   * the engine's.
   */
  static Duration brokerCheckInterval(Duration agentTimeout) {
    Duration tenth = agentTimeout.dividedBy(10);
    return tenth.compareTo(Duration.ofMillis(10)) < 0 ? Duration.ofMillis(10) : tenth.compareTo(Duration.ofMillis(500)) > 0 ? Duration.ofMillis(500) : tenth;
  }

  private static TransportProvider discoverTransport(NodeSettings settings) {
    Iterator<TransportProvider> it = ServiceLoader.load(TransportProvider.class, DefaultNode.class.getClassLoader()).iterator();
    if (!it.hasNext()) {
      throw new LinkBridgeException("No TransportProvider found to serve address " + settings.address()
          + ": add io.linkbridge:linkbridge-grpc, call NodeBuilder.transport(...), or leave address unset for a Raft-only broker");
    }
    return it.next();
  }

  private static ConsensusProvider discoverProvider() {
    Iterator<ConsensusProvider> it = ServiceLoader.load(ConsensusProvider.class, DefaultNode.class.getClassLoader()).iterator();
    if (!it.hasNext()) {
      throw new LinkBridgeException("No ConsensusProvider found: add io.linkbridge:linkbridge-raft or call NodeBuilder.consensus(...)");
    }
    return it.next();
  }

  @Override
  public String id() {
    return settings.id();
  }

  @Override
  public Optional<HostAndPort> address() {
    return Optional.ofNullable(settings.address());
  }

  @Override
  public HostAndPort raftAddress() {
    return settings.raftAddress();
  }

  @Override
  public CompletableFuture<Node> ready() {
    Optional<String> failure = readiness.failure();
    if (failure.isPresent()) {
      return CompletableFuture.failedFuture(new LinkBridgeException(failure.get()));
    }
    return engine.ready().thenApply(v -> this);
  }

  @Override
  public Registry registry() {
    return registry;
  }

  @Override
  public boolean isLeader() {
    return engine.isLeader();
  }

  @Override
  public Optional<String> leaderId() {
    return engine.leaderId();
  }

  @Override
  public List<ProxyStats> proxyStats() {
    BrokerTransport t = transport;
    return t == null ? List.of() : t.proxyStats();
  }

  @Override
  public NodeMetrics metrics() {
    return new NodeMetrics(registry.revision(), engine.commitIndex(), engine.appliedIndex(), engine.isLeader(), clients.count(),
        registry.state().instanceCount(), registry.agents().size(), consistency.checks(), consistency.mismatches());
  }

  /** The raw command path (group commit), for tests and tools in this code base: not reachable from the API. */
  public RegistryWrites writes() {
    return groupCommit;
  }

  /** The agent writes this broker's transport makes, for tests and tools in this code base. */
  public AgentRegistrar agentRegistrar() {
    return agentRegistrations;
  }

  /** The consensus engine, for tests and tools in this code base. */
  public ConsensusEngine consensus() {
    return engine;
  }

  /** Whether this node serves discovery now, and why not: for tests and tools in this code base. */
  public Readiness readiness() {
    return readiness;
  }

  /** This broker's watches: for tests and tools in this code base. */
  public WatchHub watchHub() {
    return watchHub;
  }

  /** The replicated state machine itself: for tests that must make a replica diverge, and tools in this code base. */
  public RegistryStateMachine stateMachine() {
    return stateMachine;
  }

  /** The directory holding this node's registry snapshots. */
  public SnapshotFiles snapshotFiles() {
    return snapshotFiles;
  }

  @Override
  public CompletableFuture<Long> snapshot() {
    if (shutdown.get()) {
      return CompletableFuture.failedFuture(new LinkBridgeException("broker " + id() + " is shut down: no snapshot taken"));
    }
    return CompletableFuture.supplyAsync(this::writeSnapshot, scheduler).thenCompose(revision -> engine.compact().thenApply(v -> revision));
  }

  private long writeSnapshot() {
    var state = stateMachine.state();
    try {
      Path file = snapshotFiles.write(state);
      lastSnapshotRevision = state.revision();
      log.info("Broker {} wrote snapshot {} at revision {}", id(), file.getFileName(), state.revision());
      return state.revision();
    } catch (IOException e) {
      throw new LinkBridgeException("broker " + id() + " could not write a snapshot to " + settings.dataDir().resolve("snapshots") + ": " + e.getMessage(), e);
    }
  }

  private void scheduledSnapshot() {
    if (stateMachine.state().revision() == lastSnapshotRevision) {
      return; // nothing changed since the last snapshot
    }
    try {
      writeSnapshot();
      engine.compact().whenComplete((v, e) -> {
        if (e != null) {
          log.warn("Broker {} could not compact its Raft log: {}", id(), e.toString());
        }
      });
    } catch (RuntimeException e) {
      log.error("Scheduled snapshot failed; the next one is due in {}", settings.snapshots().interval(), e);
    }
  }

  @Override
  public void shutdown() {
    if (!shutdown.compareAndSet(false, true)) {
      return;
    }
    startTermination(true);
  }

  /**
   * The graceful part of {@link #shutdown()}, on the stop thread: NOT_SERVING, every agent and
   * watcher told where to go (or ended at once without notifyClients), then a wait of at most the
   * grace period for them to leave, while writes (their detaches) still go through this broker.
   */
  private void leave() {
    List<HostAndPort> others = otherBrokers();
    String reason = "broker " + id() + " is shutting down; " + (others.isEmpty() ? "use another broker" : "use one of " + others);
    ShutdownConfig config = settings.shutdown();
    log.info("Broker {} is leaving: telling {} watches and its agents to move to {} (grace period {})", id(), watchHub.openWatches(),
        others, Durations.format(config.gracePeriod()));
    graceEnds = System.nanoTime() + config.gracePeriod().toNanos();
    readiness.leaving(reason);
    watchHub.leave(reason, others, config.notifyClients());
    CompletableFuture<Void> agentsMoved = agentSessions.leave(reason, others, config.notifyClients(), config.gracePeriod());
    long deadline = graceEnds;
    while (!leaveCut.isDone() && !(agentsMoved.isDone() && watchHub.openWatches() == 0)) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        log.warn("Broker {}: grace period {} over with {} watches and some agents still connected; closing them", id(),
            Durations.format(config.gracePeriod()), watchHub.openWatches());
        return;
      }
      try {
        CompletableFuture.anyOf(agentsMoved, leaveCut).get(Math.min(left, LEAVE_POLL_NANOS), TimeUnit.NANOSECONDS);
      } catch (TimeoutException | ExecutionException e) {
        // poll the watches again
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    log.info("Broker {}: every agent and watcher has moved", id());
  }

  /** The API addresses the other brokers announced, in member order: where leaving agents and watchers are sent. */
  public List<HostAndPort> otherBrokers() {
    return announcement.otherBrokers();
  }

  @Override
  public void shutdownNow() {
    shutdown.set(true);
    leaveCut.complete(null);
    stopTakingWork(true);
    try {
      engine.shutdownNow();
    } finally {
      engineStopped.complete(null);
      startTermination(false); // even when the engine's stop threw: the lock and the rest must still be released
    }
    try {
      if (!awaitTermination(TERMINATION_WAIT)) {
        log.warn("Broker {} has not terminated {} after shutdownNow; it goes on stopping in the background", id(), TERMINATION_WAIT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The first steps of either shutdown once agents and watchers had their chance: no new calls, no new writes, no timers. */
  private void stopTakingWork(boolean now) {
    readiness.leaving("broker " + id() + " is shut down; use another broker");
    watchHub.stop("broker " + id() + " is shut down; watch on another broker from your last revision");
    BrokerTransport t = transport;
    if (t != null) {
      if (now) {
        t.shutdownNow();
      } else {
        t.shutdown();
      }
    }
    groupCommit.close();
    scheduler.shutdownNow();
    brokerLiveness.shutdownNow();
    agentLivenessThread.shutdownNow();
    consistencyWorker.shutdownNow();
    writeTimeouts.shutdownNow();
    stalls.stop();
  }

  /**
   * Once per node, on a thread of its own: waits for the engine to stop, then releases the data
   * directory, ends the API server and marks the node terminated. gRPC's server offers no callback
   * for its termination, so something has to wait for it.
   */
  private void startTermination(boolean graceful) {
    if (stopping.compareAndSet(false, true)) {
      Thread t = new Thread(() -> {
        if (graceful) {
          leaveThenStop();
        }
        terminate(graceful);
      }, "linkbridge-node-stop-" + id());
      t.setDaemon(true);
      t.start();
    }
  }

  /** Graceful: agents and watchers move first; then no new work, and the engine leaves (handing over leadership). */
  private void leaveThenStop() {
    try {
      leave();
    } catch (RuntimeException e) {
      log.error("Broker {}: telling agents and watchers to move failed; closing them", id(), e);
    }
    if (leaveCut.isDone()) {
      return; // shutdownNow took over
    }
    stopTakingWork(false);
    engine.shutdown().whenComplete((v, e) -> {
      if (e != null) {
        log.warn("Broker {} did not leave cleanly: {}", id(), e.toString());
      }
      engineStopped.complete(null);
    });
  }

  /** {@code graceful}: calls still open (proxied calls) get what is left of the grace period to end before they are cut. */
  private void terminate(boolean graceful) {
    try {
      engineStopped.join();
      awaitStopped(scheduler, "snapshot");
      awaitStopped(brokerLiveness, "broker liveness");
      awaitStopped(agentLivenessThread, "agent liveness");
      awaitStopped(consistencyWorker, "consistency check");
      awaitStopped(writeTimeouts, "write timeouts");
      writeCallbacks.shutdown(); // the engine has stopped: no write is answered from now on
      awaitStopped(writeCallbacks, "write callbacks");
      if (!watchHub.awaitTermination(TERMINATION_WAIT)) {
        log.warn("Broker {}: its watch threads have not stopped within {}", id(), TERMINATION_WAIT);
      }
      dataDirLock.release(); // nothing of this node writes the directory any more
      BrokerTransport t = transport;
      if (t != null) {
        long graceLeft = graceEnds - System.nanoTime();
        if (graceful && graceLeft > 0 && !leaveCut.isDone() && !t.awaitTermination(Duration.ofNanos(graceLeft))) {
          log.info("Broker {}: grace period over with calls still open (proxied calls end UNAVAILABLE)", id());
        }
        t.shutdownNow(); // calls still open cannot be served by a broker that has left Raft
        while (!t.awaitTermination(TERMINATION_WAIT)) {
          log.warn("Broker {}: its API server has not terminated yet; still waiting", id());
        }
      }
      terminated.complete(null);
    } catch (InterruptedException e) {
      log.warn("Broker {}: interrupted while stopping; it may not have released its API port", id());
    } catch (RuntimeException | Error e) {
      log.error("Broker {} failed to stop cleanly", id(), e);
      terminated.complete(null); // nothing more will stop: do not leave close() and awaitTermination waiting
    }
  }

  private void awaitStopped(ExecutorService executor, String what) throws InterruptedException {
    if (!executor.awaitTermination(TERMINATION_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
      log.warn("Broker {}: its {} thread has not stopped within {}", id(), what, TERMINATION_WAIT);
    }
  }

  @Override
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    try {
      terminated.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      throw new IllegalStateException("never completes exceptionally", e);
    }
  }

  @Override
  public boolean isShutdown() {
    return shutdown.get();
  }

  @Override
  public boolean isTerminated() {
    return terminated.isDone();
  }

  @Override
  public void close() {
    shutdown();
    Duration wait = CLOSE_WAIT.plus(settings.shutdown().gracePeriod());
    try {
      if (!awaitTermination(wait)) {
        log.warn("Broker {} did not stop within {}; stopping it now", id(), Durations.format(wait));
        shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "Node{" + id() + ", raft=" + raftAddress() + ", leader=" + leaderId().orElse("?") + ", revision=" + registry.revision() + "}";
  }
}
