package io.linkbridge.bench;

import io.linkbridge.Agent;
import io.linkbridge.LinkBridge;
import io.linkbridge.ServiceInstance;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Three Link Bridge brokers embedded in this JVM, Raft over gRPC on loopback, fsync before ack. Writes
 * go to {@code node.registry().register} of a broker, or, {@code throughAgents}, through the agent API
 * over gRPC: one {@link Agent} per writer holding two brokers, each write an {@code agent.register}.
 */
final class LinkBridgeTarget implements Target {
  private final boolean throughAgents;
  private LinkBridgeCluster cluster;
  private final Map<Integer, Agent> agents = new ConcurrentHashMap<>();

  LinkBridgeTarget(boolean throughAgents) {
    this.throughAgents = throughAgents;
  }

  @Override
  public String name() {
    return throughAgents ? "linkbridge-agent" : "linkbridge";
  }

  @Override
  public void start(Path dir) throws Exception {
    cluster = new LinkBridgeCluster(dir, throughAgents);
  }

  @Override
  public void write(int member, String id, byte[] value) throws Exception {
    // ~200 B of instance: the value becomes the instance's metadata.
    ServiceInstance instance = ServiceInstance.builder("bench").id(id).endpoint("10.20.30.40", 8443)
        .metadata("payload", new String(value, StandardCharsets.ISO_8859_1)).grpcService("bench.v1.Echo").build();
    if (throughAgents) {
      agents.computeIfAbsent(member, m -> LinkBridge.agent().id("writer-" + m).brokers(cluster.apis.get(m % 3), cluster.apis.get((m + 1) % 3))
          .start())
          .register(instance);
    } else {
      cluster.nodes.get(member % 3).registry().register(instance).get(30, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() {
    agents.values().forEach(Agent::close);
    agents.clear();
    if (cluster != null) {
      cluster.close();
    }
  }
}
