package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.linkbridge.Agent;
import io.linkbridge.HostAndPort;
import io.linkbridge.InstanceState;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.Backoff;
import io.linkbridge.spi.AgentSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC agent: holds a registered stream to up to two brokers of its list. When one is lost it
 * connects to the next broker of the list, round robin, and registers again (idempotent), with
 * jittered, doubling waits between failed attempts, until it holds two again or shuts down. A broker
 * that sends nothing for {@value #SILENT_PINGS} of its ping intervals, or says it is leaving, is
 * replaced make-before-break: the agent registers with another broker (of its list, else one the
 * leaving broker named) and only then closes the old stream, so it stays attached throughout.
 *
 * <p>Threads: connects on {@code linkbridge-agent-connect-<id>}, the silence check on
 * {@code linkbridge-agent-silence-<id>}. {@code state} guards what the agent runs and its links and is
 * never held across a network wait; {@code writes} only orders the caller's own register, drain and
 * deregister, so none of them waits behind a reconnect.
 */
public final class GrpcAgent implements Agent, BrokerLink.Events {
  private static final Logger log = LoggerFactory.getLogger(GrpcAgent.class);
  private static final int LINKS = 2;
  /** A broker silent for this many of its ping intervals is replaced. */
  static final int SILENT_PINGS = 3;
  private static final long CHECK_MILLIS = 100;

  private final AgentSpec spec;
  private final Object state = new Object();
  private final ReentrantLock writes = new ReentrantLock();
  /** What the agent runs, by service and id, in registration order; under {@code state}. */
  private final Map<String, ServiceInstance> instances = new LinkedHashMap<>();
  /** Registered links; changed under {@code state}. */
  private final List<BrokerLink> links = new CopyOnWriteArrayList<>();
  /** Links sent their Register, not acknowledged yet; under {@code state}. */
  private final Set<BrokerLink> connecting = new HashSet<>();
  private final Set<BrokerLink> reportedSilent = new HashSet<>(); // on the silence thread
  private final ScheduledExecutorService connector;
  private final ScheduledExecutorService silence;
  private final Backoff backoff; // on the connect thread
  private volatile List<String> hints = List.of(); // brokers named by the last BrokerLeaving
  private volatile boolean shutdown; // written under state
  private boolean connectPending; // under this
  private int nextCandidate; // on the connect thread (or start())
  private long lastCheckNanos = System.nanoTime(); // on the silence thread

  private GrpcAgent(AgentSpec spec) {
    this.spec = spec;
    spec.instances().forEach(i -> instances.put(key(i.service(), i.id()), i));
    this.backoff = new Backoff(spec.retryInterval(), spec.maxRetryInterval());
    this.connector = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "linkbridge-agent-connect-" + spec.id()));
    this.silence = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "linkbridge-agent-silence-" + spec.id()));
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Connects to up to two brokers; returns once at least one acknowledged the registration. */
  public static GrpcAgent start(AgentSpec spec) {
    GrpcAgent agent = new GrpcAgent(spec);
    List<String> failures = new ArrayList<>();
    try {
      for (int tried = 0; tried < spec.brokers().size() && agent.links.size() < LINKS; tried++) {
        String failure = agent.connectNext(true);
        if (failure != null) {
          failures.add(failure);
        }
      }
      if (agent.links.isEmpty()) {
        throw new LinkBridgeException("agent " + spec.id() + " could not register with any broker: " + String.join("; ", failures));
      }
    } catch (RuntimeException e) {
      agent.shutdown(Duration.ZERO);
      throw e;
    }
    agent.silence.scheduleWithFixedDelay(agent::checkSilence, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
    agent.connectSoon(agent.backoff.nextDelayMillis());
    return agent;
  }

  /** A link worth keeping: open, its broker neither leaving nor silent. */
  private boolean healthy(BrokerLink l, long now) {
    long interval = l.pingIntervalMillis();
    return l.isOpen() && !l.isLeaving() && (interval == 0 || now - l.lastHeardNanos() <= TimeUnit.MILLISECONDS.toNanos(interval * SILENT_PINGS));
  }

  private int healthyLinks() {
    long now = System.nanoTime();
    return (int) links.stream().filter(l -> healthy(l, now)).count();
  }

  /** How many links the agent wants: two, or fewer if it knows fewer brokers. */
  private int wanted() {
    Set<HostAndPort> known = new HashSet<>(spec.brokers());
    hints.forEach(h -> parse(h).ifPresent(known::add));
    return Math.min(LINKS, known.size());
  }

  private static java.util.Optional<HostAndPort> parse(String hostPort) {
    try {
      return java.util.Optional.of(HostAndPort.parse("broker", hostPort));
    } catch (IllegalArgumentException e) {
      return java.util.Optional.empty();
    }
  }

  /** The next broker of the list (then of the hints) that the agent holds or opens no stream to. */
  private HostAndPort nextCandidate() {
    Set<HostAndPort> used = new HashSet<>();
    synchronized (state) {
      links.forEach(l -> used.add(l.broker()));
      connecting.forEach(l -> used.add(l.broker()));
    }
    List<HostAndPort> brokers = spec.brokers();
    for (int i = 0; i < brokers.size(); i++) {
      HostAndPort candidate = brokers.get(nextCandidate++ % brokers.size());
      if (!used.contains(candidate)) {
        return candidate;
      }
    }
    return hints.stream().map(GrpcAgent::parse).flatMap(java.util.Optional::stream).filter(b -> !used.contains(b)).findFirst().orElse(null);
  }

  /**
   * Opens a link to the next candidate and registers; returns why it failed, or null. A refusal of
   * the registry is thrown at start and logged (and retried) later. The Register is sent under
   * {@code state} with what the agent runs then, so a concurrent change either is in it or is sent
   * on this link after it; the wait for the broker's ack holds no lock.
   */
  private String connectNext(boolean starting) {
    HostAndPort candidate = nextCandidate();
    if (candidate == null) {
      return "no broker left to try";
    }
    BrokerLink link;
    CompletableFuture<Long> ack;
    synchronized (state) {
      if (shutdown) {
        return "shut down";
      }
      link = new BrokerLink(candidate, this);
      connecting.add(link);
      ack = link.register(spec.id(), List.copyOf(instances.values()));
    }
    String failure = null;
    try {
      ack.get(spec.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      failure = candidate + ": no answer within " + spec.connectTimeout().toMillis() + "ms";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = candidate + ": interrupted";
    } catch (ExecutionException e) {
      Status status = Status.fromThrowable(e.getCause());
      var refusal = StatusMapping.agentRefusal(status, "broker " + candidate + " refused agent " + spec.id());
      if (refusal.isPresent() && starting) {
        drop(link);
        throw refusal.get();
      }
      failure = refusal.map(RuntimeException::getMessage).orElse(candidate + ": " + GrpcClient.describe(status));
    }
    boolean adopted = false;
    synchronized (state) {
      connecting.remove(link);
      if (failure == null && !shutdown && link.isOpen()) {
        links.add(link);
        adopted = true;
      }
    }
    if (!adopted) {
      link.close();
      return failure == null ? candidate + ": lost before it was adopted" : failure;
    }
    log.info("Agent {} registered with broker {}", spec.id(), candidate);
    replaceUnhealthy(link);
    return null;
  }

  private void drop(BrokerLink link) {
    synchronized (state) {
      connecting.remove(link);
    }
    link.close();
  }

  /** Make-before-break: {@code replacement} holds the agent now, so streams to leaving or silent brokers can end. */
  private void replaceUnhealthy(BrokerLink replacement) {
    long now = System.nanoTime();
    List<BrokerLink> old = new ArrayList<>();
    synchronized (state) {
      for (BrokerLink l : links) {
        if (l != replacement && !healthy(l, now)) {
          links.remove(l);
          old.add(l);
        }
      }
    }
    for (BrokerLink l : old) {
      log.info("Agent {} moved from broker {} ({}) to {}", spec.id(), l.broker(), l.isLeaving() ? "leaving" : "silent", replacement.broker());
      l.close();
    }
  }

  @Override
  public void lost(BrokerLink link) {
    if (links.remove(link) && !shutdown) {
      log.warn("Agent {} lost broker {}; connecting to another", spec.id(), link.broker());
      connectSoon(0);
    }
  }

  @Override
  public void leaving(BrokerLink link, List<String> others) {
    log.info("Broker {} is leaving; agent {} registers with another broker first", link.broker(), spec.id());
    hints = List.copyOf(others);
    connectSoon(0);
  }

  /** Every 100ms: a broker silent for 3 ping intervals is replaced, unless this process itself stood still. */
  private void checkSilence() {
    long now = System.nanoTime();
    boolean stalled = now - lastCheckNanos > TimeUnit.MILLISECONDS.toNanos(4 * CHECK_MILLIS);
    lastCheckNanos = now;
    reportedSilent.retainAll(links);
    for (BrokerLink l : links) {
      if (stalled) {
        l.heardNow();
      } else if (!healthy(l, now) && !l.isLeaving() && l.isOpen() && reportedSilent.add(l)) {
        log.warn("Agent {}: broker {} sent nothing for {} ping intervals of {}ms; registering with another broker", spec.id(), l.broker(),
            SILENT_PINGS, l.pingIntervalMillis());
        connectSoon(0);
      } else if (healthy(l, now)) {
        reportedSilent.remove(l);
      }
    }
  }

  /** Runs a connect round after {@code delayMillis}, unless one is pending already. */
  private synchronized void connectSoon(long delayMillis) {
    if (shutdown || connectPending) {
      return;
    }
    try {
      connector.schedule(this::connectRound, delayMillis, TimeUnit.MILLISECONDS);
      connectPending = true;
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // shut down meanwhile
    }
  }

  private void connectRound() {
    synchronized (this) {
      connectPending = false;
    }
    if (shutdown || healthyLinks() >= wanted()) {
      return;
    }
    String failure;
    try {
      failure = connectNext(false);
    } catch (RuntimeException e) {
      failure = e.toString();
      log.warn("Agent {} could not connect", spec.id(), e);
    }
    if (failure == null) {
      backoff.reset();
      connectSoon(0); // perhaps one more
    } else {
      log.debug("Agent {} could not connect: {}", spec.id(), failure);
      connectSoon(backoff.nextDelayMillis());
    }
  }

  @Override
  public String id() {
    return spec.id();
  }

  @Override
  public List<String> connectedBrokers() {
    return links.stream().filter(BrokerLink::isOpen).map(l -> l.broker().toString()).toList();
  }

  @Override
  public List<ServiceInstance> instances() {
    synchronized (state) {
      return List.copyOf(instances.values());
    }
  }

  @Override
  public void register(ServiceInstance instance) {
    ServiceInstance owned = Objects.requireNonNull(instance, "instance").toBuilder().agentId(spec.id()).build();
    change("register " + key(owned.service(), owned.id()), key(owned.service(), owned.id()), owned, (link, elsewhere) -> link.update(owned, elsewhere));
  }

  @Override
  public void drain(String service, String instanceId) {
    writes.lock();
    try {
      register(owned(service, instanceId).withState(InstanceState.DRAINING));
    } finally {
      writes.unlock();
    }
  }

  @Override
  public void deregister(String service, String instanceId) {
    writes.lock();
    try {
      owned(service, instanceId);
      change("deregister " + key(service, instanceId), key(service, instanceId), null,
          (link, elsewhere) -> link.deregister(service, instanceId, elsewhere));
    } finally {
      writes.unlock();
    }
  }

  private ServiceInstance owned(String service, String instanceId) {
    synchronized (state) {
      ServiceInstance i = instances.get(key(service, instanceId));
      if (i == null) {
        throw new IllegalArgumentException("agent " + spec.id() + " runs no instance " + key(service, instanceId) + "; it runs " + instances.keySet());
      }
      return i;
    }
  }

  private static String key(String service, String instanceId) {
    return service + "/" + instanceId;
  }

  /**
   * Sets (or, with null, removes) one instance and sends the change on every link: first on one
   * registered link until committed, then on the others marked committed elsewhere (not waited for:
   * the stream keeps the order), and on links still registering as a write of their own, after their
   * Register. On failure the agent is unchanged.
   */
  private void change(String what, String key, ServiceInstance next, BiFunction<BrokerLink, Boolean, CompletableFuture<Long>> send) {
    writes.lock();
    try {
      ServiceInstance previous;
      List<BrokerLink> registered;
      List<BrokerLink> registering;
      synchronized (state) {
        if (shutdown) {
          throw new IllegalStateException("agent " + spec.id() + " is shut down: cannot " + what);
        }
        previous = next == null ? instances.remove(key) : instances.put(key, next);
        long now = System.nanoTime();
        registered = new ArrayList<>(links.stream().filter(BrokerLink::isOpen).toList());
        registered.sort((a, b) -> Boolean.compare(!healthy(a, now), !healthy(b, now))); // healthy brokers first
        registering = List.copyOf(connecting);
      }
      try {
        onEveryLink(what, registered, send);
      } catch (RuntimeException e) {
        synchronized (state) {
          if (previous == null) {
            instances.remove(key);
          } else {
            instances.put(key, previous);
          }
        }
        throw e;
      }
      registering.forEach(link -> send.apply(link, false).whenComplete((r, e) -> {
        if (e != null) {
          log.debug("Agent {}: broker {} did not take {} while registering ({})", spec.id(), link.broker(), what, e.toString());
        }
      }));
    } finally {
      writes.unlock();
    }
  }

  private void onEveryLink(String what, List<BrokerLink> open, BiFunction<BrokerLink, Boolean, CompletableFuture<Long>> send) {
    if (open.isEmpty()) {
      throw new LinkBridgeException("agent " + spec.id() + " holds no broker stream now (it keeps reconnecting): cannot " + what + "; retry later");
    }
    List<String> failures = new ArrayList<>();
    int committedOn = -1;
    for (int i = 0; i < open.size() && committedOn < 0; i++) {
      String failure = await(what, open.get(i), send.apply(open.get(i), false));
      if (failure == null) {
        committedOn = i;
      } else {
        failures.add(failure);
      }
    }
    if (committedOn < 0) {
      throw new LinkBridgeException("no broker committed " + what + " of agent " + spec.id() + ": " + String.join("; ", failures));
    }
    for (int i = committedOn + 1; i < open.size(); i++) {
      BrokerLink link = open.get(i);
      send.apply(link, true).whenComplete((revision, e) -> { // in stream order; nobody needs to wait for it
        if (e != null) {
          log.debug("Agent {}: broker {} did not record {} ({}); the agent registers again when it reconnects", spec.id(), link.broker(), what, e.toString());
        }
      });
    }
  }

  /** Waits for one acknowledgement; returns why it failed, or null. A refusal of the registry is thrown. */
  private String await(String what, BrokerLink link, CompletableFuture<Long> ack) {
    try {
      ack.get(spec.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LinkBridgeException("interrupted while waiting for " + what + " of agent " + spec.id());
    } catch (TimeoutException e) {
      return link.broker() + ": no answer within " + spec.connectTimeout().toMillis() + "ms";
    } catch (ExecutionException e) {
      Status status = Status.fromThrowable(e.getCause());
      RegistrationRejectedException refusal = StatusMapping.agentRefusal(status, "broker " + link.broker() + " refused " + what + " of agent "
          + spec.id()).orElse(null);
      if (refusal != null) {
        throw refusal;
      }
      return link.broker() + ": " + GrpcClient.describe(status);
    }
  }

  @Override
  public void shutdown(Duration gracePeriod) {
    List<BrokerLink> registering;
    synchronized (state) {
      if (shutdown) {
        return;
      }
      shutdown = true;
      registering = List.copyOf(connecting);
      connecting.clear();
    }
    connector.shutdownNow();
    silence.shutdownNow();
    registering.forEach(BrokerLink::close);
    try {
      for (BrokerLink link : links) {
        if (link.isOpen()) {
          long timeout = spec.connectTimeout().toMillis();
          link.shutdownNotice().get(timeout, TimeUnit.MILLISECONDS);
          if (!gracePeriod.isZero()) {
            TimeUnit.MILLISECONDS.sleep(gracePeriod.toMillis()); // calls in flight finish while watchers move away
          }
          link.deregisterAll().get(timeout, TimeUnit.MILLISECONDS);
          break; // the registry is replicated: one broker is enough
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.warn("Agent {} could not leave cleanly ({}); the brokers detach it when its streams close", spec.id(), e.toString());
    } finally {
      List<BrokerLink> open;
      synchronized (state) {
        open = List.copyOf(links);
        links.clear();
      }
      open.forEach(BrokerLink::close);
    }
  }

  @Override
  public void close() {
    shutdown(Duration.ZERO);
  }

  @Override
  public String toString() {
    return "Agent{" + spec.id() + ", brokers=" + connectedBrokers() + "}";
  }
}
