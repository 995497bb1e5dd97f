package io.linkbridge.it;

import io.linkbridge.AgentStatus;
import io.linkbridge.Node;
import io.linkbridge.registry.RegistryEvent;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Every removal a broker's registry applies (an instance deregistered, an agent DEAD), as watchers of that broker would see it. */
final class RemovalLog {
  final List<String> removals = new CopyOnWriteArrayList<>();

  RemovalLog(List<Node> brokers) {
    for (Node b : brokers) {
      b.registry().subscribe(e -> {
        if (e.type() == RegistryEvent.Type.INSTANCE_DEREGISTERED) {
          removals.add(b.id() + ": " + e.instance().service() + "/" + e.instance().id() + " at revision " + e.revision());
        } else if (e.type() == RegistryEvent.Type.AGENT_UPDATED && e.agent().status() == AgentStatus.DEAD) {
          removals.add(b.id() + ": agent " + e.agent().id() + " DEAD at revision " + e.revision());
        }
      });
    }
  }
}
