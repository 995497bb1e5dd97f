package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.linkbridge.Agent;
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
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC agent: what it runs, and the writes that change it; its streams to brokers are
 * {@link AgentLinks} (up to two, kept healthy, replaced make-before-break). {@code state} guards
 * what the agent runs and its links and is never held across a network wait; {@code writes} only
 * orders the caller's own register, drain and deregister. A change and the Register of a new link
 * never overlap (see {@link AgentLinks}): a change waits for a Register a broker already received,
 * never for a connect to a broker that does not answer.
 */
public final class GrpcAgent implements Agent {
  private static final Logger log = LoggerFactory.getLogger(GrpcAgent.class);
  /** A broker silent for this many of its ping intervals is replaced. */
  static final int SILENT_PINGS = AgentLinks.SILENT_PINGS;

  private final AgentSpec spec;
  private final Object state = new Object();
  private final ReentrantLock writes = new ReentrantLock();
  /** What the agent runs, by service and id, in registration order; under {@code state}. */
  private final Map<String, ServiceInstance> instances = new LinkedHashMap<>();
  /** This run of the agent: the brokers order its messages by {@link #version} (see agent.proto). */
  private final String incarnation = UUID.randomUUID().toString();
  /** The version of what {@link #instances} holds: one more with every change sent; under {@code state}. */
  private long version;
  private final AgentLinks links;

  private GrpcAgent(AgentSpec spec) {
    this.spec = spec;
    spec.instances().forEach(i -> instances.put(key(i.service(), i.id()), i));
    this.links = new AgentLinks(spec, state, () -> new AgentLinks.Registration(incarnation, List.copyOf(instances.values()), version));
  }

  /** Sends one change of the agent on one link, at the agent's version after it. */
  private interface Send {
    CompletableFuture<Long> on(BrokerLink link, boolean committedElsewhere, long version);
  }

  /** Connects to up to two brokers; returns once at least one acknowledged the registration. */
  public static GrpcAgent start(AgentSpec spec) {
    GrpcAgent agent = new GrpcAgent(spec);
    List<String> failures = new ArrayList<>();
    try {
      for (int tried = 0; tried < spec.brokers().size() && agent.links.registered() < 2; tried++) {
        String failure = agent.links.connectNext(true);
        if (failure != null) {
          failures.add(failure);
        }
      }
      if (agent.links.registered() == 0) {
        throw new LinkBridgeException("agent " + spec.id() + " could not register with any broker: " + String.join("; ", failures));
      }
    } catch (RuntimeException e) {
      agent.shutdown(Duration.ZERO);
      throw e;
    }
    agent.links.maintain();
    return agent;
  }

  @Override
  public String id() {
    return spec.id();
  }

  @Override
  public List<String> connectedBrokers() {
    return links.connectedBrokers();
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
    change("register " + key(owned.service(), owned.id()), key(owned.service(), owned.id()), owned, (link, elsewhere, at) -> link.update(owned, elsewhere, at));
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
          (link, elsewhere, at) -> link.deregister(service, instanceId, elsewhere, at));
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
   * Sets (or, with null, removes) one instance and sends the change on every registered link: first
   * on one until committed, then on the others marked committed elsewhere (not waited for: the stream
   * keeps the order). It first waits for the Registers in flight, whose snapshot is older, so that
   * none commits after it; no Register is sent until it ends (a new link registers with what the agent
   * runs after it). On failure the agent holds what it held before, at a version above the failed
   * change's (which may still commit late: what the agent registers next is newer than it).
   */
  private void change(String what, String key, ServiceInstance next, Send send) {
    writes.lock();
    try {
      List<CompletableFuture<Long>> registrations;
      synchronized (state) {
        if (links.isShutdown()) {
          throw new IllegalStateException("agent " + spec.id() + " is shut down: cannot " + what);
        }
        registrations = links.beginChange();
      }
      try {
        awaitRegistrations(what, registrations);
        ServiceInstance previous;
        long at;
        List<BrokerLink> registered;
        synchronized (state) {
          if (links.isShutdown()) {
            throw new IllegalStateException("agent " + spec.id() + " is shut down: cannot " + what);
          }
          previous = next == null ? instances.remove(key) : instances.put(key, next);
          at = ++version;
          registered = links.open(); // healthy brokers first, and the links whose Register was just answered
        }
        try {
          onEveryLink(what, registered, (link, elsewhere) -> send.on(link, elsewhere, at));
        } catch (RuntimeException e) {
          synchronized (state) {
            if (previous == null) {
              instances.remove(key);
            } else {
              instances.put(key, previous);
            }
            version++; // see above
          }
          throw e;
        }
      } finally {
        synchronized (state) {
          links.endChange();
        }
      }
    } finally {
      writes.unlock();
    }
  }

  /**
   * Waits until each Register in flight was answered (or failed; its link is then not adopted). The
   * connect that sent it gives up within the connect timeout and closes the link, failing it.
   */
  private void awaitRegistrations(String what, List<CompletableFuture<Long>> registrations) {
    for (CompletableFuture<Long> registration : registrations) {
      try {
        registration.get(spec.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new LinkBridgeException("interrupted while " + what + " of agent " + spec.id() + " waited for a registration with a new broker");
      } catch (ExecutionException | TimeoutException e) {
        // not registered there: the change goes to the links that are
      }
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
    if (!links.shutdown()) {
      return;
    }
    try {
      for (BrokerLink link : links.all()) {
        if (link.isOpen()) {
          long timeout = spec.connectTimeout().toMillis();
          link.shutdownNotice(nextVersion()).get(timeout, TimeUnit.MILLISECONDS);
          if (!gracePeriod.isZero()) {
            TimeUnit.MILLISECONDS.sleep(gracePeriod.toMillis()); // calls in flight finish while watchers move away
          }
          link.deregisterAll(nextVersion()).get(timeout, TimeUnit.MILLISECONDS);
          break; // the registry is replicated: one broker is enough
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.warn("Agent {} could not leave cleanly ({}); the brokers detach it when its streams close", spec.id(), e.toString());
    } finally {
      links.takeAll().forEach(BrokerLink::close);
    }
  }

  private long nextVersion() {
    synchronized (state) {
      return ++version;
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
