package io.linkbridge.agent;

import io.linkbridge.Agent;
import io.linkbridge.AgentBuilder;
import io.linkbridge.HostAndPort;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.RegistrationRejectedException;
import io.linkbridge.internal.Backoff;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standalone agent: one {@link Agent} that runs the instances of a {@link SidecarConfig}, each
 * registered, drained and deregistered as its own {@code grpc.health.v1} status says (see
 * {@link HealthFollower}). {@link #run()} connects and follows; {@link #shutdown()} leaves
 * gracefully. Thread-safe.
 *
 * <pre>{@code
 * Sidecar sidecar = new Sidecar(SidecarConfig.load(Path.of("agent.yaml")));
 * Runtime.getRuntime().addShutdownHook(new Thread(sidecar::shutdown));
 * sidecar.run(); // returns after shutdown()
 * }</pre>
 */
public final class Sidecar {
  private static final Logger log = LoggerFactory.getLogger(Sidecar.class);

  private final SidecarConfig config;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final ScheduledExecutorService checks;
  private final List<HealthFollower> followers = new ArrayList<>();
  private volatile boolean shuttingDown;
  private volatile RegistrationRejectedException refusal;
  private Agent agent;

  public Sidecar(SidecarConfig config) {
    this.config = config;
    this.checks = Executors.newScheduledThreadPool(Math.min(config.instances().size(), 4), r -> {
      Thread t = new Thread(r, "linkbridge-sidecar-health");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Connects to the brokers (retrying with jittered waits from 500ms doubling up to the connect
   * timeout while none answers), then checks every instance every health interval until
   * {@link #shutdown()}; returns when shut down.
   *
   * @throws RegistrationRejectedException when the brokers refuse the agent or one of its instances
   *     for good (an instance id another agent owns); the agent has left the brokers by then
   */
  public void run() throws InterruptedException {
    Agent started = connect();
    if (started == null) {
      return;
    }
    synchronized (this) {
      if (shuttingDown) {
        started.close();
        return;
      }
      agent = started;
      for (SidecarConfig.Checked c : config.instances()) {
        HealthFollower f = new HealthFollower(c, started, config, this::refused);
        followers.add(f);
        checks.scheduleWithFixedDelay(() -> {
          try {
            f.check();
          } catch (RuntimeException e) {
            log.error("Health check of {} failed unexpectedly; it continues", c.instance().id(), e);
          }
        }, 0, config.healthInterval().toMillis(), TimeUnit.MILLISECONDS);
      }
    }
    log.info("Agent {} follows the health of {} instance(s)", config.agentId(), config.instances().size());
    stopped.await();
    RegistrationRejectedException r = refusal;
    if (r != null) {
      throw r;
    }
  }

  /** The registry refused an instance for good: stop (shutdown() leaves the brokers cleanly) and let run() throw. */
  private void refused(RegistrationRejectedException e) {
    synchronized (this) {
      if (refusal != null) {
        return;
      }
      refusal = e;
    }
    log.error("Agent {} stops: {}", config.agentId(), e.getMessage());
    Thread stopper = new Thread(this::shutdown, "linkbridge-sidecar-refused");
    stopper.setDaemon(true);
    stopper.start(); // not on the health thread: shutdown() waits for the health threads to end
  }

  private Agent connect() throws InterruptedException {
    String[] brokers = config.brokers().stream().map(HostAndPort::toString).toArray(String[]::new);
    Backoff backoff = new Backoff(AgentBuilder.DEFAULT_RETRY_INTERVAL, config.connectTimeout().compareTo(AgentBuilder.DEFAULT_RETRY_INTERVAL) < 0
        ? AgentBuilder.DEFAULT_RETRY_INTERVAL : config.connectTimeout());
    while (!shuttingDown) {
      try {
        return LinkBridge.agent().id(config.agentId()).brokers(brokers).connectTimeout(config.connectTimeout()).start();
      } catch (RegistrationRejectedException e) {
        throw e;
      } catch (LinkBridgeException e) {
        long wait = backoff.nextDelayMillis();
        log.warn("Agent {} found no broker ({}); retrying in {} ms", config.agentId(), e.getMessage(), wait);
        if (stopped.await(wait, TimeUnit.MILLISECONDS)) {
          return null;
        }
      }
    }
    return null;
  }

  /** The agent, once {@link #run()} connected it; null before. */
  public synchronized Agent agent() {
    return agent;
  }

  /**
   * Leaves gracefully: stops checking, sends the shutdown notice (every instance DRAINING, watchers
   * told with alternatives), waits the shutdown grace, deregisters and disconnects. Idempotent.
   */
  public void shutdown() {
    Agent a;
    synchronized (this) {
      if (shuttingDown) {
        return;
      }
      shuttingDown = true;
      a = agent;
    }
    checks.shutdownNow();
    try {
      checks.awaitTermination(config.healthTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (a != null) {
      log.info("Agent {} is leaving: instances drain for {} ms, then leave the registry", config.agentId(), config.shutdownGrace().toMillis());
      a.shutdown(config.shutdownGrace());
    }
    followers.forEach(HealthFollower::close);
    stopped.countDown();
  }
}
