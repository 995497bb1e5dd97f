package io.linkbridge.spi;

import io.linkbridge.ServiceInstance;
import java.util.List;

/**
 * The broker's agent sessions, which a transport's agent streams open with: the session attaches the
 * agent through Raft (each message one atomic command), pings it through the broker's agent liveness,
 * re-attaches it after a leader's clean-up of this broker, tells it to move when the broker leaves,
 * and detaches it when its stream ends. A transport only turns wire messages into the calls below
 * (checking the fields of its wire format) and the {@link AgentSink} calls back into messages.
 * Thread-safe.
 */
public interface AgentSessions {

  /** A new agent stream: messages go to {@code sink}. */
  Session open(AgentSink sink);

  /**
   * One agent stream. The message methods are called by the stream's thread, one at a time, in the
   * order the agent sent them; {@code sequence} is echoed in the ack (0: no ack wanted).
   */
  interface Session {
    /**
     * The first message (may be repeated, idempotent): who the agent is and every instance it runs.
     * {@code incarnation} names this run of the agent (empty: the agent's messages are not fenced) and
     * {@code version} the content it registers (the agent protocol's fence, docs/api.md): a message that
     * commits after a newer one of the same run changes no instance.
     * Every later message carries the agent's version after it.
     */
    void register(String agentId, String incarnation, List<ServiceInstance> instances, long version, long sequence);

    /** Adds or replaces instances; {@code committedElsewhere}: only remember them (the agent's other broker committed them). */
    void update(List<ServiceInstance> instances, boolean committedElsewhere, long version, long sequence);

    /** The agent answered a ping. */
    void pong();

    /** The agent is leaving: its instances become DRAINING. */
    void shutdownNotice(long version, long sequence);

    /**
     * Removes instances {@code instanceIds} of {@code service} (none named: every instance of the
     * agent); {@code committedElsewhere}: only forget them.
     */
    void deregister(String service, List<String> instanceIds, boolean committedElsewhere, long version, long sequence);

    /** A message of the transport's format that breaks one of its rules: the session ends with INVALID. */
    void invalid(String description);

    /** The stream ended: {@code orderly} when the agent closed it, false when it broke. The agent is detached here. */
    void closed(boolean orderly);
  }
}
