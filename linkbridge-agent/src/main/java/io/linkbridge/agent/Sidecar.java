package io.linkbridge.agent;

import io.linkbridge.Agent;
import io.linkbridge.HostAndPort;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeException;
import io.linkbridge.RegistrationRejectedException;
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
   * Connects to the brokers (retrying every connect timeout while none answers), then checks every
   * instance every health interval until {@link #shutdown()}; returns when shut down.
   *
   * @throws RegistrationRejectedException when the brokers refuse the agent
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
        HealthFollower f = new HealthFollower(c, started, config);
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
  }

  private Agent connect() throws InterruptedException {
    String[] brokers = config.brokers().stream().map(HostAndPort::toString).toArray(String[]::new);
    while (!shuttingDown) {
      try {
        return LinkBridge.agent().id(config.agentId()).brokers(brokers).connectTimeout(config.connectTimeout()).start();
      } catch (RegistrationRejectedException e) {
        throw e;
      } catch (LinkBridgeException e) {
        log.warn("Agent {} found no broker ({}); retrying in {} ms", config.agentId(), e.getMessage(), config.connectTimeout().toMillis());
        if (stopped.await(config.connectTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
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
