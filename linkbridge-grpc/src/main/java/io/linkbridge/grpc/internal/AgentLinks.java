package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.linkbridge.HostAndPort;
import io.linkbridge.NodeBuilder;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.Backoff;
import io.linkbridge.spi.AgentSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streams of one agent to its brokers: up to two registered links, and the ones still
 * registering. When there are fewer healthy links than wanted it connects to the next broker of the
 * list, round robin, with jittered, doubling waits between failed attempts. A broker that sends
 * nothing for {@value #SILENT_PINGS} of its ping intervals, or says it is leaving, is replaced
 * make-before-break: the agent registers with another broker (of its list, else one the leaving
 * broker named) and only then closes the old stream.
 *
 * <p>Threads: connects on {@code linkbridge-agent-connect-<id>}, the silence check on
 * {@code linkbridge-agent-silence-<id>}. The agent's {@code state} lock guards the link sets and the
 * sending of a Register (with what {@code registration} says the agent runs then, at which version); it is never held
 * across a network wait.
 *
 * <p>A Register and a change of the agent never overlap, so a Register, whose content is a snapshot,
 * does not race a newer change through another link: a change first waits for the Registers already
 * sent to be acknowledged or to fail, and no Register is sent while a change is under way (a stream
 * that becomes ready meanwhile sends its Register when the change ends, with the content after it).
 * A stream that never reaches its broker sends nothing, so changes never wait for a broker that does
 * not answer. A Register given up on (no answer within the connect timeout) may still commit later;
 * its version then is older than the change after it, and the registry keeps the newer content
 * (the agent's run and version fence every message: see agent.proto).
 */
final class AgentLinks implements BrokerLink.Events {
  private static final Logger log = LoggerFactory.getLogger(AgentLinks.class);
  private static final int LINKS = 2;
  /** A broker silent for this many of its ping intervals is replaced. */
  static final int SILENT_PINGS = 3;
  private static final long CHECK_MILLIS = 100;

  private final AgentSpec spec;
  private final Object state;
  private final Supplier<Registration> registration;
  private final List<BrokerLink> links = new CopyOnWriteArrayList<>(); // registered; changed under state
  /** Opened, not yet registered, with what they end with (ack or failure, after adoption); under state. */
  private final Map<BrokerLink, CompletableFuture<Long>> connecting = new HashMap<>();
  /** Register sent, no answer yet, with what it ends with (its connect may have given up on it meanwhile); under state. */
  private final Map<BrokerLink, CompletableFuture<Long>> registering = new HashMap<>();
  private final Set<BrokerLink> readyDuringChange = new HashSet<>(); // of connecting: to register when the change ends; under state
  private boolean changing; // a change of the agent is under way; under state
  private final Set<BrokerLink> reportedSilent = new HashSet<>(); // on the silence thread
  private final ScheduledExecutorService connector;
  private final ScheduledExecutorService silence;
  private final Backoff backoff; // on the connect thread
  private volatile List<String> hints = List.of(); // brokers named by the last BrokerLeaving
  private final Map<HostAndPort, Long> leftUntil = new ConcurrentHashMap<>(); // leaving brokers not to reconnect to before (nanoTime)
  private volatile boolean shutdown; // written under state
  private boolean connectPending; // under this
  private int nextCandidate; // on the connect thread (or the starting thread)
  private long lastCheckNanos = System.nanoTime(); // on the silence thread

  /** What a Register sends: the agent's run, what it runs and the version of that content. */
  record Registration(String incarnation, List<ServiceInstance> instances, long version) {}

  AgentLinks(AgentSpec spec, Object state, Supplier<Registration> registration) {
    this.spec = spec;
    this.state = state;
    this.registration = registration;
    this.backoff = new Backoff(spec.retryInterval(), spec.maxRetryInterval());
    this.connector = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "linkbridge-agent-connect-" + spec.id()));
    this.silence = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "linkbridge-agent-silence-" + spec.id()));
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** After start: keep the links healthy from now on. */
  void maintain() {
    silence.scheduleWithFixedDelay(this::checkSilence, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
    connectSoon(backoff.nextDelayMillis());
  }

  int registered() {
    return links.size();
  }

  boolean isShutdown() {
    return shutdown;
  }

  /**
   * A link worth keeping: open, its broker neither leaving nor silent. Before its first ping the
   * broker's interval is unknown: it is then silent once it has sent nothing for
   * {@link #UNKNOWN_INTERVAL_SILENCE} (a broker frozen right after the register is noticed too).
   */
  static boolean healthy(BrokerLink l, long now) {
    long interval = l.pingIntervalMillis();
    long window = interval == 0 ? UNKNOWN_INTERVAL_SILENCE.toNanos() : TimeUnit.MILLISECONDS.toNanos(interval * SILENT_PINGS);
    return l.isOpen() && !l.isLeaving() && now - l.lastHeardNanos() <= window;
  }

  /** How long a broker that has not pinged yet may stay silent: 3 of the default agent ping interval, and a half more. */
  static final Duration UNKNOWN_INTERVAL_SILENCE = NodeBuilder.DEFAULT_AGENT_PING_INTERVAL.multipliedBy(SILENT_PINGS).plusMillis(500);

  /** Under state: the open registered links, healthy ones first. */
  List<BrokerLink> open() {
    long now = System.nanoTime();
    List<BrokerLink> open = new ArrayList<>(links.stream().filter(BrokerLink::isOpen).toList());
    open.sort((a, b) -> Boolean.compare(!healthy(a, now), !healthy(b, now)));
    return open;
  }

  /**
   * Under state: a change of the agent begins; no Register is sent until {@link #endChange()}.
   * Returns what the Registers already sent end with: the change waits for them (outside the lock)
   * before it takes effect, and then finds their links among {@link #open()} if they were adopted.
   */
  List<CompletableFuture<Long>> beginChange() {
    changing = true;
    return List.copyOf(registering.values());
  }

  /** Under state: the change ended (done or failed); the streams that became ready meanwhile register now. */
  void endChange() {
    changing = false;
    for (BrokerLink link : readyDuringChange) {
      CompletableFuture<Long> outcome = connecting.get(link);
      if (outcome != null && !shutdown) {
        sendRegister(link, outcome);
      }
    }
    readyDuringChange.clear();
  }

  @Override
  public void ready(BrokerLink link) {
    synchronized (state) {
      CompletableFuture<Long> outcome = connecting.get(link);
      if (outcome == null || shutdown) {
        return;
      }
      if (changing) {
        readyDuringChange.add(link);
      } else {
        sendRegister(link, outcome);
      }
    }
  }

  /**
   * Under state: sends the Register with what the agent runs now. Its answer adopts the link (under
   * state, before {@code outcome} completes, so a change that waited for it sends on it too), unless
   * a change went ahead without it meanwhile (it waited no longer than the connect timeout): the
   * broker then holds older content than the agent runs, and the link registers again.
   */
  private void sendRegister(BrokerLink link, CompletableFuture<Long> outcome) {
    registering.put(link, outcome);
    Registration sent = registration.get();
    link.register(spec.id(), sent.incarnation(), sent.instances(), sent.version()).whenComplete((revision, e) -> {
      synchronized (state) {
        registering.remove(link);
        boolean usable = e == null && !shutdown && link.isOpen() && connecting.containsKey(link);
        if (usable && registration.get().version() != sent.version()) {
          if (changing) {
            readyDuringChange.add(link);
          } else {
            sendRegister(link, outcome);
          }
          return;
        }
        if (connecting.remove(link) != null && usable) {
          links.add(link);
        }
      }
      if (e == null) {
        outcome.complete(revision);
      } else {
        outcome.completeExceptionally(e);
      }
    });
  }

  List<String> connectedBrokers() {
    return links.stream().filter(BrokerLink::isOpen).map(l -> l.broker().toString()).toList();
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

  private static Optional<HostAndPort> parse(String hostPort) {
    try {
      return Optional.of(HostAndPort.parse("broker", hostPort));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** The next broker of the list (then of the hints) that the agent holds or opens no stream to. */
  private HostAndPort nextCandidate() {
    Set<HostAndPort> used = new HashSet<>();
    long now = System.nanoTime();
    leftUntil.values().removeIf(until -> until - now < 0);
    used.addAll(leftUntil.keySet());
    synchronized (state) {
      links.forEach(l -> used.add(l.broker()));
      connecting.keySet().forEach(l -> used.add(l.broker()));
    }
    List<HostAndPort> brokers = spec.brokers();
    for (int i = 0; i < brokers.size(); i++) {
      HostAndPort candidate = brokers.get(nextCandidate++ % brokers.size());
      if (!used.contains(candidate)) {
        return candidate;
      }
    }
    return hints.stream().map(AgentLinks::parse).flatMap(Optional::stream).filter(b -> !used.contains(b)).findFirst().orElse(null);
  }

  /**
   * Opens a link to the next candidate and registers once its stream is ready; returns why it
   * failed, or null. A refusal of the registry is thrown when {@code starting}, else reported and
   * retried. The Register is sent under {@code state}, never during a change, so a change of the agent
   * either is in it or is sent on this link after the Register was answered; the wait for the answer
   * holds no lock.
   */
  String connectNext(boolean starting) {
    HostAndPort candidate = nextCandidate();
    if (candidate == null) {
      return "no broker left to try";
    }
    BrokerLink link;
    CompletableFuture<Long> ack = new CompletableFuture<>();
    synchronized (state) {
      if (shutdown) {
        return "shut down";
      }
      link = new BrokerLink(candidate, this);
      connecting.put(link, ack); // its Register goes out in ready()
    }
    link.whenClosed(status -> ack.completeExceptionally(status.asRuntimeException())); // lost before its Register was answered
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
        synchronized (state) {
          connecting.remove(link);
          readyDuringChange.remove(link);
        }
        link.close();
        throw refusal.get();
      }
      failure = refusal.map(RuntimeException::getMessage).orElse(candidate + ": " + GrpcClient.describe(status));
    }
    boolean adopted;
    synchronized (state) {
      connecting.remove(link); // not adopted after all if its answer comes later: the link closes now
      readyDuringChange.remove(link);
      adopted = links.contains(link);
    }
    if (!adopted) {
      link.close();
      return failure == null ? candidate + ": lost before it was adopted" : failure;
    }
    log.info("Agent {} registered with broker {}", spec.id(), candidate);
    replaceUnhealthy(link);
    return null;
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
  public void leaving(BrokerLink link, List<String> others, long graceMillis) {
    log.info("Broker {} is leaving; agent {} registers with another broker first", link.broker(), spec.id());
    // not back to it while it leaves: its grace period, and at least the longest retry wait
    long avoidMillis = Math.max(graceMillis, spec.maxRetryInterval().toMillis());
    leftUntil.put(link.broker(), System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(avoidMillis));
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
      } else if (healthy(l, now)) {
        reportedSilent.remove(l);
      } else if (!l.isLeaving() && l.isOpen() && reportedSilent.add(l)) {
        log.warn("Agent {}: broker {} sent nothing for {} ping intervals of {}ms; registering with another broker", spec.id(), l.broker(),
            SILENT_PINGS, l.pingIntervalMillis());
        connectSoon(0);
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
    } catch (RejectedExecutionException e) {
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

  /** Stops connecting and checking; closes the links still registering. Returns false if shut down already. */
  boolean shutdown() {
    List<BrokerLink> unregistered;
    synchronized (state) {
      if (shutdown) {
        return false;
      }
      shutdown = true;
      unregistered = List.copyOf(connecting.keySet());
      connecting.clear();
      readyDuringChange.clear();
    }
    connector.shutdownNow();
    silence.shutdownNow();
    unregistered.forEach(BrokerLink::close);
    return true;
  }

  /** After {@link #shutdown()}: the registered links, removed from the set (the caller closes them). */
  List<BrokerLink> takeAll() {
    synchronized (state) {
      List<BrokerLink> all = List.copyOf(links);
      links.clear();
      return all;
    }
  }

  /** The registered links now (for leaving). */
  List<BrokerLink> all() {
    return List.copyOf(links);
  }
}
