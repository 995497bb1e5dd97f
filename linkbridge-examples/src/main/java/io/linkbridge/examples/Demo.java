package io.linkbridge.examples;

import io.linkbridge.LinkBridge;
import io.linkbridge.LinkBridgeClient;
import io.linkbridge.FailoverConfig;
import io.linkbridge.Agent;
import io.linkbridge.Node;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * The demo: the connection lifecycle on one machine, narrated. Three brokers; two instances of a small
 * gRPC service with their agents; a client that discovers and calls them continuously. One instance
 * announces its shutdown and the client moves away before it stops; the Raft leader is stopped
 * abruptly and a new one takes over while the client keeps calling; the stopped broker restarts from
 * disk and catches up. Ends by itself; exits 0 only if no call failed.
 */
public final class Demo {
  private static final Duration STEP_TIMEOUT = Duration.ofSeconds(30);

  private final List<Peer> peers = new ArrayList<>();
  private final List<String> api = new ArrayList<>();
  private final Node[] brokers = new Node[3];
  private final Path dataRoot;

  private Demo(Path dataRoot) throws IOException {
    this.dataRoot = dataRoot;
    for (int i = 0; i < 3; i++) {
      peers.add(Peer.of("broker-" + (i + 1), "127.0.0.1:" + freePort()));
      api.add("127.0.0.1:" + freePort());
    }
  }

  public static void main(String[] args) throws Exception {
    Path root = Files.createTempDirectory("linkbridge-demo");
    boolean ok;
    try {
      ok = new Demo(root).run();
    } finally {
      deleteRecursively(root);
    }
    System.exit(ok ? 0 : 1);
  }

  /** Runs the whole demo; returns whether every check held. */
  public static boolean runIn(Path root) throws Exception {
    return new Demo(root).run();
  }

  private boolean run() throws Exception {
    say("Starting 3 brokers on loopback (Raft " + peers.stream().map(p -> p.raftAddress().toString()).toList() + ", API " + api + ")");
    for (int i = 0; i < 3; i++) {
      start(i);
    }
    for (Node b : brokers) {
      b.ready().get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
    int leader = await("a leader to be elected", () -> leaderIndex() >= 0);
    say("Raft elected " + peers.get(leader).id() + " as leader.");

    GreeterInstance one = new GreeterInstance(freePort());
    GreeterInstance two = new GreeterInstance(freePort());
    say("Started 2 instances of a small gRPC service on ports " + one.port() + " and " + two.port() + ", each with its agent:");
    Agent agentOne = LinkBridge.agent().id("agent-1").brokers(api.get(0), api.get(1), api.get(2)).register(greeter("greeter-1", one.port())).start();
    Agent agentTwo = LinkBridge.agent().id("agent-2").brokers(api.get(2), api.get(0), api.get(1)).register(greeter("greeter-2", two.port())).start();
    say("  agent-1 registered greeter-1 through " + agentOne.connectedBrokers() + "; agent-2 registered greeter-2 through " + agentTwo.connectedBrokers());

    boolean ok = true;
    try (LinkBridgeClient client = LinkBridge.client().brokers(api.get(leader), api.get((leader + 1) % 3), api.get((leader + 2) % 3))
            .failover(FailoverConfig.builder().retryInterval(Duration.ofMillis(500)).maxRetries(3).continuousRetry(true).build()).build();
        CallingClient caller = new CallingClient(client, "greeter", Demo::say)) {
      say("A client discovers " + client.discover("greeter").stream().map(ServiceInstance::id).toList() + " through " + client.currentBroker()
          + " and calls them continuously.");
      await("the client to call both instances", () -> caller.usableIds().size() == 2 && caller.calls.get() > 50);

      say("greeter-1 announces its shutdown (grace 1s): every broker pushes a notice to the watchers...");
      agentOne.shutdown(Duration.ofSeconds(1));
      one.close();
      say("greeter-1 deregistered and stopped; the client calls " + caller.usableIds() + " (" + caller.failed.get() + " failed calls so far).");

      say("Stopping the Raft leader " + peers.get(leader).id() + " abruptly; the client was using it...");
      long stoppedAt = System.nanoTime();
      brokers[leader].shutdownNow();
      int newLeader = await("a new leader", () -> leaderIndex() >= 0 && leaderIndex() != leader);
      say(String.format("%s took over after %d ms; the client now uses %s.", peers.get(newLeader).id(), (System.nanoTime() - stoppedAt) / 1_000_000,
          client.currentBroker()));
      long callsBefore = caller.calls.get();
      await("100 more calls", () -> caller.calls.get() > callsBefore + 100);

      GreeterInstance three = new GreeterInstance(freePort());
      try (Agent agentThree = LinkBridge.agent().id("agent-3").brokers(api.get(newLeader)).register(greeter("greeter-3", three.port())).start()) {
        await("the client to see greeter-3", () -> caller.usableIds().contains("greeter-3"));
        say("A new instance greeter-3 registered under the new leader; the client calls " + caller.usableIds() + ".");

        say("Restarting " + peers.get(leader).id() + " from its data directory...");
        start(leader);
        brokers[leader].ready().get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        await("all brokers to agree", () -> Stream.of(brokers).map(b -> b.registry().checksum()).distinct().count() == 1);
        for (Node b : brokers) {
          say(String.format("  %s: revision %d, instances %s, checksum %016x", b.id(), b.registry().revision(),
              b.registry().instances("greeter").stream().map(ServiceInstance::id).toList(), b.registry().checksum()));
        }
        agentThree.shutdown(Duration.ZERO);
      } finally {
        three.close();
      }
      agentTwo.close();
      two.close();
      say(String.format("Done: %d calls made, %d failed.", caller.calls.get(), caller.failed.get()));
      ok = caller.failed.get() == 0;
    } finally {
      for (Node b : brokers) {
        if (b != null) {
          b.shutdownNow();
        }
      }
    }
    say(ok ? "OK: no call failed through an instance shutdown and the loss of the Raft leader." : "FAILED: some calls failed.");
    return ok;
  }

  private static ServiceInstance greeter(String id, int port) {
    return ServiceInstance.builder("greeter").id(id).endpoint("127.0.0.1", port).grpcService("grpc.health.v1.Health").build();
  }

  private void start(int i) {
    Peer p = peers.get(i);
    brokers[i] = LinkBridge.node().id(p.id()).raftAddress(p.raftAddress().toString()).address(api.get(i)).dataDir(dataRoot.resolve(p.id())).join(peers)
        .electionTimeout(Duration.ofMillis(500)).heartbeatInterval(Duration.ofMillis(100)).start();
  }

  private int leaderIndex() {
    for (int i = 0; i < 3; i++) {
      if (brokers[i] != null && !brokers[i].isShutdown() && brokers[i].isLeader()) {
        return i;
      }
    }
    return -1;
  }

  private int await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + STEP_TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out after " + STEP_TIMEOUT.toSeconds() + "s waiting for " + what);
      }
      Thread.sleep(20);
    }
    return leaderIndex();
  }

  private static void say(String line) {
    System.out.println("[demo] " + line);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void deleteRecursively(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
