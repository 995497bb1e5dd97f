package io.linkbridge.internal;

import io.linkbridge.AgentInfo;
import io.linkbridge.registry.RegistryCommand;
import io.linkbridge.spi.ConsensusEngine;
import io.linkbridge.spi.MemberStatus;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On the leader: detaches every agent of a broker that has not answered the leader for longer than the
 * agent timeout, so a crashed broker cannot keep its agents alive in the registry. Agents attached to
 * another broker as well stay alive; the others become DEAD and their instances leave. A broker that
 * comes back re-attaches the agents it still holds (see the agent sessions of the transport).
 */
final class BrokerWatchdog implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(BrokerWatchdog.class);

  private final ConsensusEngine engine;
  private final ReplicatedRegistry registry;
  private final Duration agentTimeout;
  private final Set<String> detached = ConcurrentHashMap.newKeySet(); // brokers cleaned up during their current silence

  BrokerWatchdog(ConsensusEngine engine, ReplicatedRegistry registry, Duration agentTimeout) {
    this.engine = engine;
    this.registry = registry;
    this.agentTimeout = agentTimeout;
  }

  @Override
  public void run() {
    if (!engine.isLeader()) {
      detached.clear();
      return;
    }
    for (MemberStatus m : engine.members()) {
      if (m.local() || m.millisSinceContact() < 0) {
        continue;
      }
      if (m.millisSinceContact() <= agentTimeout.toMillis()) {
        detached.remove(m.id());
        continue;
      }
      boolean holdsAgents = registry.agents().stream().map(AgentInfo::brokers).anyMatch(b -> b.contains(m.id()));
      if (holdsAgents && detached.add(m.id())) {
        log.warn("Broker {} has not answered the leader for {} ms (agent timeout {} ms): detaching its agents", m.id(),
            m.millisSinceContact(), agentTimeout.toMillis());
        registry.execute(new RegistryCommand.DetachBroker(m.id())).whenComplete((r, e) -> {
          if (e != null) {
            detached.remove(m.id());
          }
        });
      }
    }
  }
}
