package io.linkbridge.internal.registry;

import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.HostAndPort;
import io.linkbridge.InstanceState;
import io.linkbridge.RegistrationRejectedException.Reason;
import io.linkbridge.ServiceInstance;
import io.linkbridge.registry.RegistryEvent;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The changes of one log entry to a {@link RegistryState}: each update copies only its path in the
 * persistent trees, so keeping a copy to return to (an {@link RegistryCommand.Atomic} group that is
 * refused half-way) costs a few pointers. Used by the apply thread only; not thread-safe.
 */
final class RegistryMutation {
  /** A checksum mark and the state at it, told to the consistency listener after the entry. */
  record MarkAt(String markId, RegistryState state) {}

  /** Everything a mutation holds, to return to. */
  private record Saved(long revision, SortedTreap<SortedTreap<ServiceInstance>> services, SortedTreap<AgentInfo> agents,
      SortedTreap<SortedTreap<ServiceInstance>> byAgent, SortedTreap<Long> deadSince, SortedTreap<HostAndPort> brokers,
      SortedTreap<RegistryCommand.Fence> fences, int events) {}

  private long revision;
  private SortedTreap<SortedTreap<ServiceInstance>> services;
  private SortedTreap<AgentInfo> agents;
  private SortedTreap<SortedTreap<ServiceInstance>> byAgent;
  private SortedTreap<Long> deadSince;
  private SortedTreap<HostAndPort> brokers;
  private SortedTreap<RegistryCommand.Fence> fences;
  private final int deadAgentsKept;
  private final long term;
  private final List<RegistryEvent> events = new ArrayList<>();
  /** Whether anything changed: every event, and changes without one (announced addresses). */
  private boolean changed;
  /** Marks (the state at the mark) and reports, in log order: told to the consistency listener after the batch. */
  private final List<Object> checks = new ArrayList<>();

  RegistryMutation(RegistryState base, int deadAgentsKept, long term) {
    this.term = term;
    revision = base.revision();
    services = base.servicesTree();
    agents = base.agentsTree();
    byAgent = base.byAgentTree();
    deadSince = base.deadSinceTree();
    brokers = base.brokersTree();
    fences = base.fencesTree();
    this.deadAgentsKept = deadAgentsKept;
  }

  RegistryState build() {
    return new RegistryState(revision, services, agents, byAgent, deadSince, brokers, fences);
  }

  /** The changes, in revision order. */
  List<RegistryEvent> events() {
    return events;
  }

  /** Whether the state changed (with or without events). */
  boolean changed() {
    return changed || !events.isEmpty();
  }

  /** Marks ({@link MarkAt}) and reports ({@link RegistryCommand.ChecksumReport}), in log order. */
  List<Object> checks() {
    return checks;
  }

  CommandResult apply(RegistryCommand command) {
    if (command instanceof RegistryCommand.RegisterInstance c) {
      return register(c.instance());
    } else if (command instanceof RegistryCommand.DeregisterInstance c) {
      return deregister(c);
    } else if (command instanceof RegistryCommand.UpdateAgentStatus c) {
      return updateStatus(c.agentId(), c.status());
    } else if (command instanceof RegistryCommand.AttachAgent c) {
      return attach(c.agentId(), c.brokerId());
    } else if (command instanceof RegistryCommand.DetachAgent c) {
      return detach(c.agentId(), c.brokerId());
    } else if (command instanceof RegistryCommand.AnnounceBroker c) {
      return announce(c.brokerId(), c.apiAddress());
    } else if (command instanceof RegistryCommand.Atomic c) {
      return applyAtomically(c.commands(), c.fence());
    } else if (command instanceof RegistryCommand.ChecksumMark c) {
      checks.add(new MarkAt(c.id(), build()));
      return applied();
    } else if (command instanceof RegistryCommand.ChecksumReport c) {
      checks.add(c);
      return applied();
    } else if (command instanceof RegistryCommand.DetachBroker c) {
      if (c.term() != 0 && c.term() != term) {
        return new CommandResult.Rejected(Reason.STALE_TERM, "detach of broker " + c.brokerId() + " was decided in term " + c.term()
            + " and committed in term " + term + ": a leader of an earlier term judged it, nothing was detached");
      }
      for (AgentInfo a : agents.values()) {
        if (a.brokers().contains(c.brokerId())) {
          detach(a.id(), c.brokerId());
        }
      }
      return applied();
    }
    return new CommandResult.Rejected(Reason.INVALID, "unknown command " + command);
  }

  /**
   * Applies the group on top of what this entry did so far; if one command is refused, returns to
   * that point, so nothing of the group shows (no event, no revision). A deregistration of an instance
   * already gone does not refuse the group: what it asks holds. A stale group (its fence older than
   * the agent's, see {@link RegistryCommand.Fence}) applies only its attach and detach commands.
   */
  private CommandResult applyAtomically(List<RegistryCommand> group, RegistryCommand.Fence fence) {
    Saved before = new Saved(revision, services, agents, byAgent, deadSince, brokers, fences, events.size());
    RegistryCommand.Fence applied = fence == null ? null : fences.get(fence.agentId());
    boolean stale = fence != null && fence.olderThan(applied);
    List<CommandResult> results = new ArrayList<>(group.size());
    for (int i = 0; i < group.size(); i++) {
      RegistryCommand c = group.get(i);
      if (stale && !(c instanceof RegistryCommand.AttachAgent || c instanceof RegistryCommand.DetachAgent)) {
        results.add(new CommandResult.Rejected(Reason.STALE, describe(c) + " is from version " + fence.version() + " of agent "
            + fence.agentId() + " (run " + fence.incarnation() + "), and version " + applied.version() + " is applied already"));
        continue;
      }
      CommandResult r = apply(c);
      boolean alreadyGone = c instanceof RegistryCommand.DeregisterInstance && r instanceof CommandResult.Rejected j && j.reason() == Reason.NOT_FOUND;
      if (r instanceof CommandResult.Rejected j && !alreadyGone) {
        restore(before);
        CommandResult.Rejected refusal = new CommandResult.Rejected(j.reason(), "command " + (i + 1) + " of " + group.size() + " ("
            + describe(c) + ") was refused: " + j.message() + "; nothing of the message was applied");
        return new CommandResult.Atomic(false, Collections.nCopies(group.size(), refusal));
      }
      results.add(r);
    }
    if (fence != null && !stale && agents.get(fence.agentId()) != null) {
      fences = fences.put(fence.agentId(), fence); // not older than the applied one, or of another run
    }
    return new CommandResult.Atomic(true, results);
  }

  private void restore(Saved s) {
    revision = s.revision();
    services = s.services();
    agents = s.agents();
    byAgent = s.byAgent();
    deadSince = s.deadSince();
    brokers = s.brokers();
    fences = s.fences();
    events.subList(s.events(), events.size()).clear(); // groups hold no announcement: 'changed' needs no restoring
  }

  private static String describe(RegistryCommand c) {
    if (c instanceof RegistryCommand.RegisterInstance r) {
      return "register " + r.instance().service() + "/" + r.instance().id();
    } else if (c instanceof RegistryCommand.DeregisterInstance d) {
      return "deregister " + d.service() + "/" + d.id();
    } else if (c instanceof RegistryCommand.UpdateAgentStatus u) {
      return "status " + u.status() + " of agent " + u.agentId();
    } else if (c instanceof RegistryCommand.AttachAgent a) {
      return "attach agent " + a.agentId() + " to broker " + a.brokerId();
    } else if (c instanceof RegistryCommand.DetachAgent d) {
      return "detach agent " + d.agentId() + " from broker " + d.brokerId();
    }
    return c.toString();
  }

  /**
   * Cluster metadata, not registry content (as an etcd member's URLs are not keys): it changes the
   * state, its snapshot and checksum, but not the revision, and fires no event, so watchers and
   * revisions see only instances and agents.
   */
  private CommandResult announce(String brokerId, HostAndPort address) {
    if (!address.equals(brokers.get(brokerId))) {
      brokers = brokers.put(brokerId, address);
      changed = true;
    }
    return applied();
  }

  private CommandResult register(ServiceInstance instance) {
    ServiceInstance existing = instance(instance.service(), instance.id());
    if (existing != null && !existing.agentId().equals(instance.agentId())) {
      return new CommandResult.Rejected(Reason.ALREADY_OWNED, "instance " + instance.service() + "/" + instance.id() + " is owned by "
          + owner(existing.agentId()) + ", not " + owner(instance.agentId()) + ": deregister it first or choose another id");
    }
    if (!instance.agentId().isEmpty()) {
      AgentInfo agent = agents.get(instance.agentId());
      if (agent == null || agent.status() == AgentStatus.DEAD) {
        return new CommandResult.Rejected(Reason.AGENT_DEAD, "agent '" + instance.agentId() + "' is " + (agent == null ? "unknown" : "DEAD")
            + ": it must attach to a broker before it registers " + instance.service() + "/" + instance.id());
      }
      if (agent.status() == AgentStatus.DRAINING) {
        instance = instance.withState(InstanceState.DRAINING);
      }
    }
    if (instance.equals(existing)) {
      return applied();
    }
    put(instance);
    event(existing == null ? RegistryEvent.Type.INSTANCE_REGISTERED : RegistryEvent.Type.INSTANCE_UPDATED, instance, null);
    return applied();
  }

  private CommandResult deregister(RegistryCommand.DeregisterInstance c) {
    ServiceInstance existing = instance(c.service(), c.id());
    if (existing == null) {
      return new CommandResult.Rejected(Reason.NOT_FOUND, "no instance " + c.service() + "/" + c.id() + " is registered");
    }
    if (!c.agentId().isEmpty() && !c.agentId().equals(existing.agentId())) {
      return new CommandResult.Rejected(Reason.NOT_OWNER, "instance " + c.service() + "/" + c.id() + " is owned by " + owner(existing.agentId())
          + ", not agent '" + c.agentId() + "'");
    }
    remove(existing);
    return applied();
  }

  private CommandResult updateStatus(String agentId, AgentStatus status) {
    AgentInfo agent = agents.get(agentId);
    if (agent == null) {
      return new CommandResult.Rejected(Reason.NOT_FOUND, "no agent '" + agentId + "' is known");
    }
    if (agent.status() == status) {
      return applied();
    }
    if (status == AgentStatus.DEAD) {
      markDead(agent);
      return applied();
    }
    if (agent.status() == AgentStatus.DEAD) {
      return new CommandResult.Rejected(Reason.AGENT_DEAD, "agent '" + agentId + "' is DEAD: it must attach to a broker before it changes status");
    }
    putAgent(new AgentInfo(agentId, status, agent.brokers()));
    InstanceState target = status == AgentStatus.DRAINING ? InstanceState.DRAINING : InstanceState.UP;
    for (ServiceInstance i : instancesOf(agentId)) {
      if (i.state() != target) {
        ServiceInstance changed = i.withState(target);
        put(changed);
        event(RegistryEvent.Type.INSTANCE_UPDATED, changed, null);
      }
    }
    return applied();
  }

  private CommandResult attach(String agentId, String brokerId) {
    AgentInfo agent = agents.get(agentId);
    if (agent != null && agent.status() != AgentStatus.DEAD && agent.brokers().contains(brokerId)) {
      return applied();
    }
    Set<String> brokers = new TreeSet<>(agent == null || agent.status() == AgentStatus.DEAD ? Set.of() : agent.brokers());
    brokers.add(brokerId);
    AgentStatus status = agent == null || agent.status() == AgentStatus.DEAD ? AgentStatus.ALIVE : agent.status();
    try {
      putAgent(new AgentInfo(agentId, status, brokers));
    } catch (IllegalArgumentException e) {
      return new CommandResult.Rejected(Reason.INVALID, e.getMessage());
    }
    return applied();
  }

  private CommandResult detach(String agentId, String brokerId) {
    AgentInfo agent = agents.get(agentId);
    if (agent == null || !agent.brokers().contains(brokerId)) {
      return applied();
    }
    Set<String> brokers = new TreeSet<>(agent.brokers());
    brokers.remove(brokerId);
    if (brokers.isEmpty()) {
      markDead(agent);
    } else {
      putAgent(new AgentInfo(agentId, agent.status(), brokers));
    }
    return applied();
  }

  private void markDead(AgentInfo agent) {
    for (ServiceInstance i : instancesOf(agent.id())) {
      remove(i);
    }
    putAgent(new AgentInfo(agent.id(), AgentStatus.DEAD, Set.of()));
    deadSince = deadSince.put(agent.id(), revision);
    while (deadSince.size() > deadAgentsKept) {
      forgetLongestDead();
    }
  }

  /** Forgets the DEAD agent that died first (the smallest id among equals: snapshots of old versions say 0). */
  private void forgetLongestDead() {
    String[] oldest = {null};
    long[] since = {Long.MAX_VALUE};
    deadSince.forEach((id, r) -> {
      if (r < since[0]) {
        oldest[0] = id;
        since[0] = r;
      }
    });
    AgentInfo forgotten = agents.get(oldest[0]);
    agents = agents.remove(oldest[0]);
    deadSince = deadSince.remove(oldest[0]);
    fences = fences.remove(oldest[0]);
    event(RegistryEvent.Type.AGENT_REMOVED, null, forgotten);
  }

  /** The agent's instances, in the order of every service then id (the order their events take). */
  private List<ServiceInstance> instancesOf(String agentId) {
    SortedTreap<ServiceInstance> m = byAgent.get(agentId);
    return m == null ? List.of() : m.values();
  }

  private ServiceInstance instance(String service, String id) {
    SortedTreap<ServiceInstance> m = services.get(service);
    return m == null ? null : m.get(id);
  }

  private void put(ServiceInstance i) {
    ServiceInstance existing = instance(i.service(), i.id());
    if (existing != null && !existing.agentId().equals(i.agentId())) {
      unindex(existing);
    }
    services = RegistryState.putNested(services, i.service(), i.id(), i);
    if (!i.agentId().isEmpty()) {
      byAgent = RegistryState.putNested(byAgent, i.agentId(), RegistryState.byAgentKey(i), i);
    }
  }

  private void remove(ServiceInstance i) {
    services = RegistryState.removeNested(services, i.service(), i.id());
    unindex(i);
    event(RegistryEvent.Type.INSTANCE_DEREGISTERED, i, null);
  }

  private void unindex(ServiceInstance i) {
    if (!i.agentId().isEmpty()) {
      byAgent = RegistryState.removeNested(byAgent, i.agentId(), RegistryState.byAgentKey(i));
    }
  }

  private void putAgent(AgentInfo agent) {
    agents = agents.put(agent.id(), agent);
    if (agent.status() != AgentStatus.DEAD) {
      deadSince = deadSince.remove(agent.id()); // alive again, or never died
    }
    event(RegistryEvent.Type.AGENT_UPDATED, null, agent);
  }

  private void event(RegistryEvent.Type type, ServiceInstance instance, AgentInfo agent) {
    events.add(new RegistryEvent(++revision, type, instance, agent));
  }

  private CommandResult applied() {
    return new CommandResult.Applied(revision);
  }

  private static String owner(String agentId) {
    return agentId.isEmpty() ? "a static registration" : "agent '" + agentId + "'";
  }
}
