package io.linkbridge.internal.registry;

import io.linkbridge.AgentStatus;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import java.util.List;
import java.util.Objects;

/**
 * A change to the replicated registry. Commands are encoded as protobuf in the Raft log, applied by
 * every broker in log order, and produce a {@link CommandResult}. Immutable.
 *
 * <p>These types are the log's vocabulary, for the state machine and tools that apply commands to a
 * standalone {@link RegistryStateMachine}. No public API submits them to a running broker: embedders
 * write through {@link io.linkbridge.Registry#register}/{@code deregister}, transports through
 * {@link io.linkbridge.internal.agent.AgentRegistrar}.
 */
public sealed interface RegistryCommand {

  /** Adds or replaces an instance; refused when another agent owns its id. */
  record RegisterInstance(ServiceInstance instance) implements RegistryCommand {
    public RegisterInstance {
      Objects.requireNonNull(instance, "instance");
    }
  }

  /** Removes an instance. An empty {@code agentId} is an operator removal that ignores ownership. */
  record DeregisterInstance(String service, String id, String agentId) implements RegistryCommand {
    public DeregisterInstance {
      Objects.requireNonNull(service, "service");
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(agentId, "agentId");
    }
  }

  /** Sets an agent's status: DRAINING drains its instances, DEAD removes them, ALIVE restores them. */
  record UpdateAgentStatus(String agentId, AgentStatus status) implements RegistryCommand {
    public UpdateAgentStatus {
      Objects.requireNonNull(agentId, "agentId");
      Objects.requireNonNull(status, "status");
    }
  }

  /** Records that a broker holds a live connection to the agent, creating the agent if new. */
  record AttachAgent(String agentId, String brokerId) implements RegistryCommand {
    public AttachAgent {
      Objects.requireNonNull(agentId, "agentId");
      Objects.requireNonNull(brokerId, "brokerId");
    }
  }

  /** Records that a broker lost the agent; an agent left with no broker becomes DEAD. */
  record DetachAgent(String agentId, String brokerId) implements RegistryCommand {
    public DetachAgent {
      Objects.requireNonNull(agentId, "agentId");
      Objects.requireNonNull(brokerId, "brokerId");
    }
  }

  /**
   * Detaches every agent from one broker: the leader's clean-up after a broker crash. {@code term} is
   * the Raft term the leader judged the broker crashed in; the state machine refuses the command
   * ({@code STALE_TERM}) when it is committed in any other term, so a deposed leader's stale view never
   * removes anything. Term 0 marks entries written before terms were recorded; they apply as before.
   */
  record DetachBroker(String brokerId, long term) implements RegistryCommand {
    public DetachBroker {
      Objects.requireNonNull(brokerId, "brokerId");
      if (term < 0) {
        throw new IllegalArgumentException("term must be >= 0, was " + term);
      }
    }
  }

  /** A point in the log where every broker takes its checksum (see {@link ConsistencyListener}); changes nothing. */
  record ChecksumMark(String id) implements RegistryCommand {
    public ChecksumMark {
      Objects.requireNonNull(id, "id");
    }
  }

  /** One broker's checksum (and revision) at a mark; changes nothing. */
  record ChecksumReport(String markId, String brokerId, long revision, long checksum) implements RegistryCommand {
    public ChecksumReport {
      Objects.requireNonNull(markId, "markId");
      Objects.requireNonNull(brokerId, "brokerId");
    }
  }

  /**
   * Records the API address a broker serves agents and clients on. Each broker proposes its own once
   * it has caught up and the state does not hold it yet (as etcd members publish their client URLs).
   * Cluster metadata: it changes the state and its checksum but not the revision, and fires no event.
   */
  record AnnounceBroker(String brokerId, HostAndPort apiAddress) implements RegistryCommand {
    public AnnounceBroker {
      Objects.requireNonNull(brokerId, "brokerId");
      Objects.requireNonNull(apiAddress, "apiAddress");
    }
  }

  /**
   * Commands applied as one log command, all or none: one agent message. If any command is refused,
   * nothing of the group is applied ({@link CommandResult.Atomic#applied()} is false); a deregistration
   * of an instance that is already gone is not a refusal of the group (what it asks holds), though its
   * own result says {@code NOT_FOUND}. Only instance and agent commands may be grouped, never a group.
   *
   * <p>{@code fence} (may be null: unfenced) places the message in its agent's own sequence: a group
   * older than one the registry applied from the same agent incarnation is stale, see {@link Fence}.
   */
  record Atomic(List<RegistryCommand> commands, Fence fence) implements RegistryCommand {
    public Atomic {
      commands = List.copyOf(commands);
      if (commands.isEmpty()) {
        throw new IllegalArgumentException("an atomic group needs at least one command");
      }
      for (RegistryCommand c : commands) {
        if (!(c instanceof RegisterInstance || c instanceof DeregisterInstance || c instanceof UpdateAgentStatus
            || c instanceof AttachAgent || c instanceof DetachAgent)) {
          throw new IllegalArgumentException("an atomic group holds only instance and agent commands, not " + c);
        }
        if (fence != null && !fence.agentId().equals(agentOf(c))) {
          throw new IllegalArgumentException("a group fenced for agent " + fence.agentId() + " holds a command of another agent: " + c);
        }
      }
    }

    private static String agentOf(RegistryCommand c) {
      if (c instanceof RegisterInstance r) {
        return r.instance().agentId();
      } else if (c instanceof DeregisterInstance d) {
        return d.agentId();
      } else if (c instanceof UpdateAgentStatus u) {
        return u.agentId();
      } else if (c instanceof AttachAgent a) {
        return a.agentId();
      }
      return ((DetachAgent) c).agentId();
    }

    /** An unfenced group. */
    public Atomic(List<RegistryCommand> commands) {
      this(commands, null);
    }
  }

  /**
   * Where an agent message stands in its agent's own sequence: {@code incarnation} names one run of
   * the agent (a new one each time it starts), {@code version} counts its changes (a register carries
   * the version of the content it holds, each later change one more). A message travels through any
   * of the agent's brokers, and one that timed out may still commit late, after a newer one committed
   * through another broker: applied then, it would bring back older content (an instance the agent
   * removed, metadata it replaced). So a fenced group of the incarnation the registry last applied,
   * with a lower version, is stale: its attach and detach commands apply (the broker's stream is
   * real), its instance and status commands do not (each result says {@code STALE}). A group of
   * another incarnation always applies and starts that incarnation's sequence (runs are not ordered:
   * a late message of an earlier run still applies). The fence stays while the registry keeps the
   * agent, DEAD ones included, and goes when a DEAD agent is forgotten.
   */
  record Fence(String agentId, String incarnation, long version) {
    /** The longest incarnation accepted (a UUID's text is 36). */
    public static final int MAX_INCARNATION_LENGTH = 64;

    public Fence {
      Objects.requireNonNull(agentId, "agentId");
      Objects.requireNonNull(incarnation, "incarnation");
      if (incarnation.isEmpty() || incarnation.length() > MAX_INCARNATION_LENGTH) {
        throw new IllegalArgumentException("incarnation must be 1.." + MAX_INCARNATION_LENGTH + " characters, was " + incarnation.length());
      }
      if (version < 0) {
        throw new IllegalArgumentException("version must be >= 0, was " + version);
      }
    }

    /** Whether a group with this fence is older than {@code applied}, the agent's fence in the registry. */
    public boolean olderThan(Fence applied) {
      return applied != null && applied.incarnation.equals(incarnation) && version < applied.version;
    }
  }
}
