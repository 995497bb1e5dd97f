package io.linkbridge.internal.liveness;

import io.linkbridge.spi.AgentHeartbeats;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where an agent's silence becomes a detach: every agent ping interval ({@link #check()}, on
 * {@code linkbridge-agent-liveness-<broker>}) it pings each agent connected to this broker and ends
 * the session of one that has answered nothing for the agent timeout; the session's end proposes
 * the {@code DetachAgent} through Raft. Silence counts only while this broker was running (see
 * {@link StallDetector}), so a broker that was frozen gives every agent a full timeout from the end
 * of the stall. Thread-safe.
 */
public final class AgentLiveness implements AgentHeartbeats {
  private static final Logger log = LoggerFactory.getLogger(AgentLiveness.class);

  private final String brokerId;
  private final StallDetector stalls;
  private final long timeoutNanos;
  private final Set<Watched> watched = ConcurrentHashMap.newKeySet();

  public AgentLiveness(String brokerId, StallDetector stalls, Duration agentTimeout) {
    this.brokerId = brokerId;
    this.stalls = stalls;
    this.timeoutNanos = agentTimeout.toNanos();
  }

  private final class Watched implements Heartbeat {
    final String agentId;
    final Runnable ping;
    final Consumer<String> timedOut;
    volatile long lastAnswer = stalls.nanoTime();

    Watched(String agentId, Runnable ping, Consumer<String> timedOut) {
      this.agentId = agentId;
      this.ping = ping;
      this.timedOut = timedOut;
    }

    @Override
    public void answered() {
      lastAnswer = stalls.nanoTime();
    }

    @Override
    public void stop() {
      watched.remove(this);
    }
  }

  @Override
  public Heartbeat watch(String agentId, Runnable ping, Consumer<String> timedOut) {
    Watched w = new Watched(agentId, ping, timedOut);
    watched.add(w);
    return w;
  }

  /** Pings every agent, and ends the session of each that has been silent for the timeout. */
  public void check() {
    for (Watched w : watched) {
      long silent = stalls.silentNanos(w.lastAnswer);
      if (silent > timeoutNanos) {
        if (watched.remove(w)) {
          long millis = TimeUnit.NANOSECONDS.toMillis(silent);
          log.info("Agent {} answered no ping for {} ms on broker {} (agent timeout {} ms); detaching it", w.agentId, millis, brokerId,
              TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
          w.timedOut.accept("no pong for " + millis + " ms (agent timeout " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms)");
        }
      } else {
        w.ping.run();
      }
    }
  }
}
