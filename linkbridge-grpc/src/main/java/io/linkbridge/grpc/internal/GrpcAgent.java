package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.linkbridge.Agent;
import io.linkbridge.HostAndPort;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.spi.AgentSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
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
  private final List<BrokerLink> links = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService reconnects;
  private final AtomicBoolean shutdown = new AtomicBoolean();
  private int nextCandidate;

  private GrpcAgent(AgentSpec spec) {
    this.spec = spec;
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
        link.register(spec.id(), spec.instances()).get(spec.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
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
  public void shutdown(Duration gracePeriod) {
    if (!shutdown.compareAndSet(false, true)) {
      return;
    }
    reconnects.shutdownNow();
    try {
      for (BrokerLink link : links) {
        if (link.isOpen()) {
          long timeout = spec.connectTimeout().toMillis();
          link.shutdownNotice(gracePeriod.toMillis()).get(timeout, TimeUnit.MILLISECONDS);
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
