package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.linkbridge.Agent;
import io.linkbridge.HostAndPort;
import io.linkbridge.InstanceState;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.ServiceInstance;
import io.linkbridge.spi.AgentSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC agent: holds a registered stream to up to two brokers of its list. When one is lost it
 * connects to the next broker of the list, round robin, and registers again (idempotent), retrying
 * every connect timeout until it holds two again or shuts down.
 */
public final class GrpcAgent implements Agent {
  private static final Logger log = LoggerFactory.getLogger(GrpcAgent.class);
  private static final int LINKS = 2;

  private final AgentSpec spec;
  /** What the agent runs, by service and id, in registration order. Changed only under this object's lock. */
  private final Map<String, ServiceInstance> instances = new LinkedHashMap<>();
  private final List<BrokerLink> links = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService reconnects;
  private final AtomicBoolean shutdown = new AtomicBoolean();
  private int nextCandidate;

  private GrpcAgent(AgentSpec spec) {
    this.spec = spec;
    spec.instances().forEach(i -> instances.put(key(i.service(), i.id()), i));
    this.reconnects = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "linkbridge-agent-" + spec.id());
      t.setDaemon(true);
      return t;
    });
  }

  /** Connects to up to two brokers; returns once at least one acknowledged the registration. */
  public static GrpcAgent start(AgentSpec spec) {
    GrpcAgent agent = new GrpcAgent(spec);
    List<String> failures = new ArrayList<>();
    try {
      for (int tried = 0; tried < spec.brokers().size() && agent.links.size() < LINKS; tried++) {
        String failure = agent.connectNext();
        if (failure != null) {
          failures.add(failure);
        }
      }
      if (agent.links.isEmpty()) {
        throw new LinkBridgeException("agent " + spec.id() + " could not register with any broker: " + String.join("; ", failures));
      }
    } catch (RuntimeException e) {
      agent.abandon();
      throw e;
    }
    if (agent.links.size() < LINKS) {
      agent.scheduleReconnect(agent.retryDelayMillis());
    }
    return agent;
  }

  /** Opens a link to the next broker not linked yet and registers; returns why it failed, or null. */
  private synchronized String connectNext() {
    List<HostAndPort> brokers = spec.brokers();
    for (int i = 0; i < brokers.size(); i++) {
      HostAndPort candidate = brokers.get(nextCandidate++ % brokers.size());
      if (links.stream().anyMatch(l -> l.broker().equals(candidate))) {
        continue;
      }
      BrokerLink link = new BrokerLink(candidate, this::lost);
      try {
        link.register(spec.id(), List.copyOf(instances.values())).get(spec.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
        links.add(link);
        log.info("Agent {} registered with broker {}", spec.id(), candidate);
        return null;
      } catch (TimeoutException e) {
        link.close();
        return candidate + ": no answer within " + spec.connectTimeout().toMillis() + "ms";
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        link.close();
        return candidate + ": interrupted";
      } catch (Exception e) {
        link.close();
        Status status = Status.fromThrowable(e);
        if (status.getCode() == Status.Code.INVALID_ARGUMENT || status.getCode() == Status.Code.ALREADY_EXISTS) {
          throw new LinkBridgeException("broker " + candidate + " refused agent " + spec.id() + ": " + status.getCode() + " " + status.getDescription());
        }
        return candidate + ": " + status.getCode() + (status.getDescription() == null ? "" : " " + status.getDescription());
      }
    }
    return "no broker left to try";
  }

  /** A registered link broke (links that never registered are the connect attempt's business). */
  private void lost(BrokerLink link) {
    if (links.remove(link) && !shutdown.get()) {
      log.warn("Agent {} lost broker {}; connecting to another", spec.id(), link.broker());
      scheduleReconnect(0);
    }
  }

  private long retryDelayMillis() {
    return Math.max(100, Math.min(1000, spec.connectTimeout().toMillis()));
  }

  private void scheduleReconnect(long delayMillis) {
    if (shutdown.get()) {
      return;
    }
    try {
      reconnects.schedule(() -> {
        if (shutdown.get() || links.size() >= LINKS) {
          return;
        }
        String failure = connectNext();
        if (failure != null) {
          log.debug("Agent {} could not connect: {}", spec.id(), failure);
        }
        if (links.size() < LINKS) {
          scheduleReconnect(retryDelayMillis());
        }
      }, delayMillis, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // shut down meanwhile
    }
  }

  /** start() failed: stop every attempt and release what was opened. */
  private void abandon() {
    shutdown.set(true);
    reconnects.shutdownNow();
    links.forEach(BrokerLink::close);
    links.clear();
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
  public synchronized List<ServiceInstance> instances() {
    return List.copyOf(instances.values());
  }

  @Override
  public synchronized void register(ServiceInstance instance) {
    ServiceInstance owned = Objects.requireNonNull(instance, "instance").toBuilder().agentId(spec.id()).build();
    String key = key(owned.service(), owned.id());
    ServiceInstance previous = instances.put(key, owned);
    try {
      onEveryLink("register " + key, (link, elsewhere) -> link.update(owned, elsewhere));
    } catch (RuntimeException e) {
      if (previous == null) {
        instances.remove(key);
      } else {
        instances.put(key, previous);
      }
      throw e;
    }
  }

  @Override
  public synchronized void drain(String service, String instanceId) {
    register(owned(service, instanceId).withState(InstanceState.DRAINING));
  }

  @Override
  public synchronized void deregister(String service, String instanceId) {
    owned(service, instanceId);
    onEveryLink("deregister " + key(service, instanceId), (link, elsewhere) -> link.deregister(service, instanceId, elsewhere));
    instances.remove(key(service, instanceId));
  }

  private ServiceInstance owned(String service, String instanceId) {
    ServiceInstance i = instances.get(key(service, instanceId));
    if (i == null) {
      throw new IllegalArgumentException("agent " + spec.id() + " runs no instance " + key(service, instanceId) + "; it runs " + instances.keySet());
    }
    return i;
  }

  private static String key(String service, String instanceId) {
    return service + "/" + instanceId;
  }

  /**
   * Sends one change on every registered link, so that each broker re-attaches the agent with what it
   * runs now: first on one link until committed, then on the others marked committed elsewhere, so
   * they only record it (not waited for: the stream keeps the order). Succeeds when a broker committed it.
   */
  private void onEveryLink(String what, BiFunction<BrokerLink, Boolean, CompletableFuture<Long>> send) {
    if (shutdown.get()) {
      throw new IllegalStateException("agent " + spec.id() + " is shut down: cannot " + what);
    }
    List<BrokerLink> open = links.stream().filter(BrokerLink::isOpen).toList();
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
      String why = status.getCode() + (status.getDescription() == null ? "" : " " + status.getDescription());
      RegistrationRejectedException.Reason reason = switch (status.getCode()) {
        case ALREADY_EXISTS -> RegistrationRejectedException.Reason.ALREADY_OWNED;
        case INVALID_ARGUMENT -> RegistrationRejectedException.Reason.INVALID;
        case PERMISSION_DENIED -> RegistrationRejectedException.Reason.NOT_OWNER;
        default -> null;
      };
      if (reason != null) {
        throw new RegistrationRejectedException(reason, "broker " + link.broker() + " refused " + what + " of agent " + spec.id() + ": " + why);
      }
      return link.broker() + ": " + why;
    }
  }

  @Override
  public void shutdown(Duration gracePeriod) {
    if (!shutdown.compareAndSet(false, true)) {
      return;
    }
    reconnects.shutdownNow();
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
      links.forEach(BrokerLink::close);
      links.clear();
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
