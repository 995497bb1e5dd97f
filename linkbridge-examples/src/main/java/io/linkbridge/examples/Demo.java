package io.linkbridge.examples;

import io.linkbridge.LinkBridge;
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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * The demo: a three-broker cluster on this machine doing the real job, narrated. Brokers replicate
 * registrations through Raft, the leader is stopped abruptly while writes continue, a new leader
 * takes over, the stopped broker restarts from its data directory and catches up. Exits 0 only if
 * every acknowledged registration survived and all brokers agree.
 */
public final class Demo {
  private static final Duration STEP_TIMEOUT = Duration.ofSeconds(30);

  private final List<Peer> peers = new ArrayList<>();
  private final Node[] brokers = new Node[3];
  private final Path dataRoot;

  private Demo(Path dataRoot) throws IOException {
    this.dataRoot = dataRoot;
    for (int i = 0; i < 3; i++) {
      peers.add(Peer.of("broker-" + (i + 1), "127.0.0.1:" + freePort()));
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
    say("Starting 3 brokers on loopback: " + peers);
    for (int i = 0; i < 3; i++) {
      start(i);
    }
    for (Node b : brokers) {
      b.ready().get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
    int leader = await("a leader to be elected", () -> leaderIndex() >= 0);
    say("Raft elected " + peers.get(leader).id() + " as leader.");

    say("Registering 3 services with 10 instances each, through all three brokers...");
    for (int i = 0; i < 30; i++) {
      String service = List.of("greeter", "orders", "payments").get(i % 3);
      brokers[i % 3].registry().register(ServiceInstance.builder(service).id(service + "-" + i).endpoint("10.0.0." + (i % 250 + 1), 9000)
          .grpcService("demo." + Character.toUpperCase(service.charAt(0)) + service.substring(1)).build()).get(10, TimeUnit.SECONDS);
    }
    await("every broker to hold 30 instances", () -> Stream.of(brokers).allMatch(b -> b.registry().state().instanceCount() == 30));
    for (Node b : brokers) {
      say(String.format("  %s sees services %s at revision %d, checksum %016x", b.id(), b.registry().services(), b.registry().revision(),
          b.registry().checksum()));
    }

    say("Starting 4 writers that register instances continuously through the followers...");
    Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    AtomicInteger failed = new AtomicInteger();
    AtomicBoolean writing = new AtomicBoolean(true);
    List<Thread> writers = new ArrayList<>();
    AtomicInteger sequence = new AtomicInteger();
    for (int w = 0; w < 4; w++) {
      Node via = brokers[(leader + 1 + w % 2) % 3];
      Thread t = new Thread(() -> {
        while (writing.get()) {
          String id = "load-" + sequence.incrementAndGet();
          try {
            via.registry().register(ServiceInstance.builder("load").id(id).endpoint("10.9.9.9", 7000).build()).get(15, TimeUnit.SECONDS);
            acknowledged.add(id);
          } catch (Exception e) {
            failed.incrementAndGet();
          }
        }
      }, "demo-writer-" + w);
      t.start();
      writers.add(t);
    }
    await("200 acknowledged writes", () -> acknowledged.size() >= 200);

    say("Stopping the leader " + peers.get(leader).id() + " abruptly (no hand-over) with " + acknowledged.size() + " writes acknowledged...");
    long stoppedAt = System.nanoTime();
    brokers[leader].shutdownNow();
    int newLeader = await("a new leader", () -> leaderIndex() >= 0 && leaderIndex() != leader);
    say(String.format("%s took over after %d ms; writes go on.", peers.get(newLeader).id(), (System.nanoTime() - stoppedAt) / 1_000_000));
    int atFailover = acknowledged.size();
    await("200 more acknowledged writes", () -> acknowledged.size() >= atFailover + 200);

    say("Restarting " + peers.get(leader).id() + " from its data directory...");
    start(leader);
    brokers[leader].ready().get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    writing.set(false);
    for (Thread t : writers) {
      t.join(20_000);
    }
    await("all brokers to agree", () -> Stream.of(brokers).map(b -> b.registry().checksum()).distinct().count() == 1);
    for (Node b : brokers) {
      say(String.format("  %s: revision %d, %d instances, checksum %016x", b.id(), b.registry().revision(), b.registry().state().instanceCount(),
          b.registry().checksum()));
    }

    long missing = acknowledged.stream().filter(id -> Stream.of(brokers).anyMatch(b -> b.registry().state().instance("load", id).isEmpty())).count();
    say("Snapshotting every broker (also compacts the Raft log)...");
    for (Node b : brokers) {
      say("  " + b.id() + " snapshot at revision " + b.snapshot().get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
    }
    for (Node b : brokers) {
      b.close();
    }
    say(String.format("Done: %d writes acknowledged, %d not acknowledged during the failover (clients retry those), %d acknowledged writes missing.",
        acknowledged.size(), failed.get(), missing));
    boolean ok = missing == 0;
    say(ok ? "OK: every acknowledged registration survived the leader's loss." : "FAILED: acknowledged registrations were lost.");
    return ok;
  }

  private void start(int i) {
    Peer p = peers.get(i);
    brokers[i] = LinkBridge.node().id(p.id()).raftAddress(p.raftAddress().toString()).dataDir(dataRoot.resolve(p.id())).join(peers)
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
