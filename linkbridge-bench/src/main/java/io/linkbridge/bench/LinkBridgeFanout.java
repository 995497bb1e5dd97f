package io.linkbridge.bench;

import io.linkbridge.Agent;
import io.linkbridge.InstanceEvent;
import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.ServiceInstance;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Three Link Bridge brokers in this JVM serving their gRPC API; the watchers are {@link LinkBridgeClient}
 * watches, ten per client, the clients spread over the brokers. The service always has
 * {@link #STABLE_INSTANCES} instances besides the ones announced, so each notice carries at least that
 * many alternatives. One announcement is an agent's shutdown notice ({@code agent.shutdown}), or, with
 * {@code kill}, the SIGKILL of an agent process.
 */
final class LinkBridgeFanout implements FanoutTarget {
  static final String SERVICE = "bench";
  private static final int WATCHES_PER_CLIENT = 10;
  static final int STABLE_INSTANCES = 10;
  private static final Duration GRACE = Duration.ofMillis(300);

  private final boolean kill;
  private LinkBridgeCluster cluster;
  private final List<LinkBridgeClient> clients = new ArrayList<>();
  private final Map<String, Agent> agents = new HashMap<>();
  private final Map<String, Process> agentProcesses = new HashMap<>();
  private EventSink removals;
  private CompletableFuture<Void> shutdown;
  private int watchers;
  private Path dir;

  /** @param kill announce by SIGKILL of an agent process instead of a shutdown notice */
  LinkBridgeFanout(boolean kill) {
    this.kill = kill;
  }

  @Override
  public String name() {
    return kill ? "linkbridge-sigkill" : "linkbridge";
  }

  @Override
  public String announcement() {
    return kill ? "SIGKILL of an agent process holding two brokers -> REMOVED" : "agent shutdown notice -> SHUTDOWN_NOTICE with alternatives";
  }

  @Override
  public void start(Path dir, int watchers, EventSink sink) throws Exception {
    this.dir = dir;
    this.watchers = watchers;
    this.removals = kill ? sink : new EventSink();
    cluster = new LinkBridgeCluster(dir, true);
    var stable = LinkBridge.agent().id("agent-stable").brokers(cluster.apis.get(0), cluster.apis.get(1));
    for (int i = 0; i < STABLE_INSTANCES; i++) {
      stable.register(instance("stable-" + i));
    }
    agents.put("stable", stable.start());
    for (int w = 0; w < watchers; w += WATCHES_PER_CLIENT) {
      LinkBridgeClient c = LinkBridge.client().brokers(cluster.apis.get(clients.size() % 3)).build();
      clients.add(c);
      for (int i = w; i < Math.min(watchers, w + WATCHES_PER_CLIENT); i++) {
        c.watch(SERVICE, e -> {
          if (e.type() == InstanceEvent.Type.SHUTDOWN_NOTICE && !kill) {
            sink.seen(e.instance().id());
          } else if (e.type() == InstanceEvent.Type.REMOVED) {
            removals.seen(e.instance().id());
          }
        });
      }
    }
  }

  @Override
  public void prepare(List<String> keys) throws Exception {
    if (kill) {
      startAgentProcesses(keys);
      return;
    }
    for (int k = 0; k < keys.size(); k++) {
      agents.put(keys.get(k), LinkBridge.agent().id("agent-" + keys.get(k)).brokers(cluster.apis.get(k % 3), cluster.apis.get((k + 1) % 3))
          .register(instance(keys.get(k))).start());
    }
  }

  static ServiceInstance instance(String key) {
    return ServiceInstance.builder(SERVICE).id(key).endpoint("10.20.30.40", 8443).grpcService("bench.v1.Echo").build();
  }

  /** One JVM per agent ({@link BenchAgentMain}), started together; returns when all registered. */
  private void startAgentProcesses(List<String> keys) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    for (int k = 0; k < keys.size(); k++) {
      String key = keys.get(k);
      agentProcesses.put(key, new ProcessBuilder(java, "-Xmx48m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", io.linkbridge.testing.JavaCommand.classPath(LinkBridgeFanout.class),
          BenchAgentMain.class.getName(), "agent-" + key, key, cluster.apis.get(k % 3), cluster.apis.get((k + 1) % 3))
          .redirectError(dir.resolve("agent-" + key + ".log").toFile()).start());
    }
    for (String key : keys) {
      Process p = agentProcesses.get(key);
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      if (!"registered".equals(line)) {
        throw new IllegalStateException("agent process for " + key + " did not register (" + line + "); see " + dir);
      }
    }
  }

  @Override
  public void announce(String key) throws Exception {
    if (kill) {
      removals.expect(key);
      agentProcesses.remove(key).destroyForcibly();
    } else {
      removals.expect(key);
      Agent leaving = agents.remove(key);
      // notice -> DRAINING -> grace -> deregister, in the background: the notice's fan-out is measured
      // alone, as in production, where the grace outlasts it
      shutdown = CompletableFuture.runAsync(() -> leaving.shutdown(GRACE));
    }
  }

  @Override
  public void settle(String key) throws Exception {
    if (shutdown != null) {
      shutdown.get(30, TimeUnit.SECONDS);
    }
    removals.await(watchers, 30_000);
  }

  @Override
  public void close() {
    agents.values().forEach(Agent::close);
    agentProcesses.values().forEach(Ports::kill);
    clients.forEach(LinkBridgeClient::close);
    if (cluster != null) {
      cluster.close();
    }
  }
}
