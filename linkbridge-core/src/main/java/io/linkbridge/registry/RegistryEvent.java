package io.linkbridge.registry;

import io.linkbridge.AgentInfo;
import io.linkbridge.ServiceInstance;
import java.util.Objects;

/**
 * One change to the registry at one revision. Every change has its own revision, so the events of a
 * broker form a gap-free sequence {@code r, r+1, r+2, ...}. Immutable.
 *
 * @param revision the registry revision this change produced
 * @param type what changed
 * @param instance the instance after the change (before it, for {@link Type#INSTANCE_DEREGISTERED}); null for agent events
 * @param agent the agent after the change; null for instance events
 */
public record RegistryEvent(long revision, Type type, ServiceInstance instance, AgentInfo agent) {

  /** What changed. */
  public enum Type {
    /** A new instance. */
    INSTANCE_REGISTERED,
    /** An existing instance changed (for example it started DRAINING). */
    INSTANCE_UPDATED,
    /** An instance left the registry. */
    INSTANCE_DEREGISTERED,
    /** An agent's status or broker attachments changed. */
    AGENT_UPDATED,
    /** A DEAD agent was forgotten: the registry keeps only the most recently dead ones. */
    AGENT_REMOVED,
    /** The whole state was replaced from a snapshot; listeners should reload. */
    STATE_RESTORED
  }

  public RegistryEvent {
    Objects.requireNonNull(type, "type");
    boolean instanceEvent = type == Type.INSTANCE_REGISTERED || type == Type.INSTANCE_UPDATED || type == Type.INSTANCE_DEREGISTERED;
    if (instanceEvent && instance == null) {
      throw new IllegalArgumentException(type + " needs an instance");
    }
    if ((type == Type.AGENT_UPDATED || type == Type.AGENT_REMOVED) && agent == null) {
      throw new IllegalArgumentException(type + " needs an agent");
    }
  }
}
