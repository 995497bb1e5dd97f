package io.linkbridge.spi;

import java.util.function.Consumer;

/**
 * The broker's agent liveness, which the broker's agent sessions register with: it pings each
 * watched agent every heartbeat interval and tells the session once the agent has answered nothing
 * for the agent timeout. Time the broker itself stood still (a GC pause, SIGSTOP) is not counted.
 * Thread-safe. The callbacks run on the liveness thread ({@code linkbridge-agent-liveness-<broker>})
 * and must not block.
 */
public interface AgentHeartbeats {

  /**
   * Watches agent {@code agentId}: {@code ping} is called every heartbeat interval to send a ping;
   * {@code timedOut} once, with the reason, when the agent has been silent for the agent timeout
   * (the session then ends, which detaches the agent from this broker through Raft).
   */
  Heartbeat watch(String agentId, Runnable ping, Consumer<String> timedOut);

  /** One watched agent. */
  interface Heartbeat {
    /** The agent answered (a pong). */
    void answered();

    /** Stops watching: the session ended. */
    void stop();
  }
}
