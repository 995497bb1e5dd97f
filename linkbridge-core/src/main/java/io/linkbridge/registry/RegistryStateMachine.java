package io.linkbridge.registry;

import com.google.protobuf.InvalidProtocolBufferException;
import io.linkbridge.AgentInfo;
import io.linkbridge.AgentStatus;
import io.linkbridge.InstanceState;
import io.linkbridge.RegistrationRejectedException.Reason;
import io.linkbridge.ServiceInstance;
import io.linkbridge.internal.RegistryCodec;
import io.linkbridge.internal.TrustedDecoding;
import io.linkbridge.internal.log.Command;
import io.linkbridge.spi.StateMachine;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's replicated state machine. Every broker applies every committed batch in log order and
 * so holds the same {@link ClusterState}.
 *
 * <p>Threading: {@link #apply}, {@link #snapshot} and {@link #restore} run on the consensus engine's
 * apply thread, one at a time. {@link #state()} may be read from any thread; it returns the state
 * after the last applied batch. Listeners run on the apply thread after the new state is published,
 * in revision order, and must not block.
 *
 * <p>Determinism: no clock, no randomness, no I/O in {@code apply}. Bytes that do not decode, and
 * commands that break a rule, produce a {@link CommandResult.Rejected}, never an exception.
 */
public final class RegistryStateMachine implements StateMachine {
  private static final Logger log = LoggerFactory.getLogger(RegistryStateMachine.class);

  /**
   * How many DEAD agents the registry remembers; beyond it the one that died first is forgotten
   * ({@link RegistryEvent.Type#AGENT_REMOVED}). A constant, not a setting: every replica must apply
   * the same rule.
   */
  public static final int DEAD_AGENTS_KEPT = 1_000;

  private final int deadAgentsKept;
  private volatile ClusterState state = ClusterState.EMPTY;
  private final List<Consumer<RegistryEvent>> listeners = new CopyOnWriteArrayList<>();
  private volatile ConsistencyListener consistency;

  public RegistryStateMachine() {
    this(DEAD_AGENTS_KEPT);
  }

  /** For tests that need the forgetting of DEAD agents to happen sooner. */
  RegistryStateMachine(int deadAgentsKept) {
    this.deadAgentsKept = deadAgentsKept;
  }

  /** The state after the last applied entry. */
  public ClusterState state() {
    return state;
  }

  /** Adds a listener for every change applied from now on. See the class comment for threading. */
  public void addListener(Consumer<RegistryEvent> listener) {
    listeners.add(listener);
  }

  public void removeListener(Consumer<RegistryEvent> listener) {
    listeners.remove(listener);
  }

  /** Sets the one listener for checksum marks and reports. See {@link ConsistencyListener} for threading. */
  public void consistencyListener(ConsistencyListener listener) {
    this.consistency = listener;
  }

  @Override
  public byte[] apply(long term, byte[] entry) {
    // Decoding and the changes run without re-checking model rules (the log's content was checked
    // when it came in); the listeners run outside that scope.
    Applied applied = TrustedDecoding.run(() -> mutate(term, entry));
    if (!applied.events().isEmpty()) {
      fire(applied.events());
    }
    ConsistencyListener c = consistency;
    if (c != null) {
      for (Object signal : applied.checks()) {
        try {
          if (signal instanceof MarkAt mark) {
            c.markApplied(mark.markId(), mark.state());
          } else {
            c.reportApplied((RegistryCommand.ChecksumReport) signal);
          }
        } catch (RuntimeException ex) {
          log.error("Consistency listener threw on {}", signal, ex);
        }
      }
    }
    return applied.results();
  }

  /** What one entry did: the encoded results, and the events and checksum signals to tell afterwards. */
  private record Applied(byte[] results, List<RegistryEvent> events, List<Object> checks) {}

  /** Decodes and applies one entry and publishes the new state; tells nobody. */
  private Applied mutate(long term, byte[] entry) {
    List<Command> commands;
    try {
      commands = RegistryCodec.decodeBatch(entry);
    } catch (InvalidProtocolBufferException e) {
      log.warn("Ignoring a log entry of {} bytes that is not a registry batch: {}", entry.length, e.getMessage());
      return new Applied(RegistryCodec.encodeResults(List.of(new CommandResult.Rejected(Reason.INVALID, "log entry is not a registry batch: "
          + e.getMessage()))), List.of(), List.of());
    }
    Mutation m = new Mutation(state, deadAgentsKept, term);
    List<CommandResult> results = new ArrayList<>(commands.size());
    for (Command c : commands) {
      RegistryCommand command;
      try {
        command = RegistryCodec.fromProto(c);
      } catch (IllegalArgumentException e) {
        results.add(new CommandResult.Rejected(Reason.INVALID, e.getMessage()));
        continue;
      }
      results.add(m.apply(command));
    }
    if (!m.events.isEmpty()) {
      state = m.build();
    }
    return new Applied(RegistryCodec.encodeResults(results), m.events, m.checks);
  }

  /** Applies commands directly, without a log, as entries of term 1: for tests and tools. Returns one result per command. */
  public List<CommandResult> applyAll(List<RegistryCommand> commands) {
    return applyAll(1, commands);
  }

  /** Applies commands directly, without a log, as entries of {@code term}: for tests and tools. Returns one result per command. */
  public List<CommandResult> applyAll(long term, List<RegistryCommand> commands) {
    return RegistryCodec.decodeResults(apply(term, RegistryCodec.encodeBatch(commands)));
  }

  @Override
  public void snapshot(OutputStream out) throws IOException {
    out.write(RegistryCodec.encodeSnapshot(state));
  }

  @Override
  public void restore(InputStream in) throws IOException {
    byte[] bytes = in.readAllBytes();
    ClusterState restored;
    try {
      restored = TrustedDecoding.run(() -> {
        try {
          return RegistryCodec.decodeSnapshot(bytes);
        } catch (InvalidProtocolBufferException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    state = restored;
    fire(List.of(new RegistryEvent(restored.revision(), RegistryEvent.Type.STATE_RESTORED, null, null)));
  }

  private void fire(List<RegistryEvent> events) {
    for (Consumer<RegistryEvent> l : listeners) {
      for (RegistryEvent e : events) {
        try {
          l.accept(e);
        } catch (RuntimeException ex) {
          log.error("Registry listener {} threw on {}; it keeps receiving events", l, e, ex);
        }
      }
    }
  }

  private record MarkAt(String markId, ClusterState state) {}

  /** The changes of one batch: each update copies only its path in the persistent trees. */
  private static final class Mutation {
    private long revision;
    private SortedTreap<SortedTreap<ServiceInstance>> services;
    private SortedTreap<AgentInfo> agents;
    private SortedTreap<SortedTreap<ServiceInstance>> byAgent;
    private SortedTreap<Long> deadSince;
    private final int deadAgentsKept;
    private final long term;
    private final List<RegistryEvent> events = new ArrayList<>();
    /** Marks (the state at the mark) and reports, in log order: told to the consistency listener after the batch. */
    private final List<Object> checks = new ArrayList<>();

    Mutation(ClusterState base, int deadAgentsKept, long term) {
      this.term = term;
      revision = base.revision();
      services = base.servicesTree();
      agents = base.agentsTree();
      byAgent = base.byAgentTree();
      deadSince = base.deadSinceTree();
      this.deadAgentsKept = deadAgentsKept;
    }

    ClusterState build() {
      return new ClusterState(revision, services, agents, byAgent, deadSince);
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
      services = ClusterState.putNested(services, i.service(), i.id(), i);
      if (!i.agentId().isEmpty()) {
        byAgent = ClusterState.putNested(byAgent, i.agentId(), ClusterState.byAgentKey(i), i);
      }
    }

    private void remove(ServiceInstance i) {
      services = ClusterState.removeNested(services, i.service(), i.id());
      unindex(i);
      event(RegistryEvent.Type.INSTANCE_DEREGISTERED, i, null);
    }

    private void unindex(ServiceInstance i) {
      if (!i.agentId().isEmpty()) {
        byAgent = ClusterState.removeNested(byAgent, i.agentId(), ClusterState.byAgentKey(i));
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
}
