package io.linkbridge.testing;

import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.NodeBuilder;
import io.linkbridge.Peer;
import io.linkbridge.internal.DefaultNode;
import io.linkbridge.spi.NetworkFaults;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * A cluster of real broker nodes on loopback in this JVM, each with its own free port and data
 * directory. Closing it stops every node still running. Register it with {@link NodeLeakCheck}.
 */
public final class TestCluster implements AutoCloseable {
  private final Path root;
  private final List<Peer> peers = new ArrayList<>();
  private final Node[] nodes;
  private final UnaryOperator<NodeBuilder> customizer;
  private final List<String> api = new ArrayList<>();
  private final List<String> proxy = new ArrayList<>();
  private boolean serveApi;
  private boolean proxyPorts;

  public TestCluster(Path root, int size) {
    this(root, size, b -> b);
  }

  public TestCluster(Path root, int size, UnaryOperator<NodeBuilder> customizer) {
    this.root = root;
    this.customizer = customizer;
    this.nodes = new Node[size];
    for (int i = 0; i < size; i++) {
      peers.add(Peer.of("broker-" + (i + 1), "127.0.0.1:" + FreePorts.next()));
      api.add("127.0.0.1:" + FreePorts.next());
      proxy.add("127.0.0.1:" + FreePorts.next());
    }
  }

  /** A cluster whose brokers also serve their client API (needs a TransportProvider on the class path). */
  public static TestCluster serving(Path root, int size, UnaryOperator<NodeBuilder> customizer) {
    TestCluster c = new TestCluster(root, size, customizer);
    c.serveApi = true;
    return c;
  }

  /** Each broker also opens a dedicated proxy port ({@code NodeBuilder.proxyAddress}), at {@link #proxy}. */
  public TestCluster withProxyPorts() {
    proxyPorts = true;
    return this;
  }

  /** The proxy port ({@code host:port}) of broker {@code i}, served when built {@link #withProxyPorts}. */
  public String proxy(int i) {
    return proxy.get(i);
  }

  /** The API address ({@code host:port}) of broker {@code i}, served when built with {@link #serving}. */
  public String api(int i) {
    return api.get(i);
  }

  /** Starts every node, one after another from this thread, and waits until all are ready. */
  public TestCluster start() {
    for (int i = 0; i < nodes.length; i++) {
      start(i);
    }
    awaitReady();
    return this;
  }

  /** Starts (or restarts) node {@code i} from its data directory; does not wait for it to be ready. */
  public Node start(int i) {
    return start(i, b -> b);
  }

  /** As {@link #start(int)}, with {@code extra} settings for this start only (after the cluster's own). */
  public Node start(int i, UnaryOperator<NodeBuilder> extra) {
    Peer p = peers.get(i);
    NodeBuilder b = LinkBridge.node()
        .id(p.id())
        .raftAddress(p.raftAddress().toString())
        .dataDir(root.resolve(p.id()))
        .join(peers)
        .electionTimeout(Duration.ofMillis(500))
        .heartbeatInterval(Duration.ofMillis(100));
    if (serveApi) {
      b.address(api.get(i));
    }
    if (proxyPorts) {
      b.proxyAddress(proxy.get(i));
    }
    nodes[i] = extra.apply(customizer.apply(b)).start();
    NodeLeakCheck.track(nodes[i]);
    return nodes[i];
  }

  public void awaitReady() {
    CompletableFuture.allOf(running().stream().map(Node::ready).toArray(CompletableFuture[]::new))
        .orTimeout(60, TimeUnit.SECONDS).join();
  }

  public Node node(int i) {
    return nodes[i];
  }

  public List<Peer> peers() {
    return peers;
  }

  public Path dataDir(int i) {
    return root.resolve(peers.get(i).id());
  }

  /** The nodes not shut down. */
  public List<Node> running() {
    return Arrays.stream(nodes).filter(n -> n != null && !n.isShutdown()).toList();
  }

  /** The leader now, waiting up to 20 s for one. */
  public Node leader() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      Optional<Integer> i = leaderIndex();
      if (i.isPresent()) {
        return nodes[i.get()];
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    throw new IllegalStateException("no leader within 20 s among " + running());
  }

  /** The running nodes that are not the leader. */
  public List<Node> followers() {
    Node leader = leader();
    return running().stream().filter(n -> n != leader).toList();
  }

  /** Stops node {@code i} at once, as close to a crash as a stop inside one JVM can be (use {@link BrokerProcess} for SIGKILL). */
  public void kill(int i) {
    nodes[i].shutdownNow();
  }

  /** Starts node {@code i} again from its data directory and waits until it is ready. */
  public Node restart(int i) {
    if (nodes[i] != null && !nodes[i].isShutdown()) {
      nodes[i].shutdownNow();
    }
    Node n = start(i);
    n.ready().orTimeout(60, TimeUnit.SECONDS).join();
    return n;
  }

  /**
   * Waits up to 30 s until every running node has the same revision and checksum, and fails naming
   * each node's revision and checksum if they never agree. Call it at the end of a fault test.
   */
  public void ensureSame() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      List<String> views = running().stream().map(n -> n.id() + "@" + n.registry().revision() + "/" + Long.toHexString(n.registry().checksum()))
          .toList();
      if (views.stream().map(v -> v.substring(v.indexOf('@'))).distinct().count() <= 1) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the replicas did not converge within 30 s: " + views);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
  }

  /** The index of the node that is leader now, as the running nodes agree, if any. */
  public Optional<Integer> leaderIndex() {
    for (int i = 0; i < nodes.length; i++) {
      if (nodes[i] != null && !nodes[i].isShutdown() && nodes[i].isLeader()) {
        return Optional.of(i);
      }
    }
    return Optional.empty();
  }

  /**
   * Partitions the Raft network: the nodes of {@code group} talk only among themselves, the others
   * only among themselves; every process keeps running and serving its clients. Through the engines'
   * {@link io.linkbridge.spi.NetworkFaults} seam.
   */
  public void partition(int... group) {
    Set<Integer> inside = Arrays.stream(group).boxed().collect(Collectors.toSet());
    for (int i = 0; i < nodes.length; i++) {
      boolean in = inside.contains(i);
      Set<String> others = new HashSet<>();
      for (int j = 0; j < nodes.length; j++) {
        if (inside.contains(j) != in) {
          others.add(peers.get(j).id());
        }
      }
      faults(i).cutOff(others);
    }
  }

  /**
   * Freezes node {@code i}'s Raft traffic as a paused process's sockets would: everything it sends
   * or receives is held, in order, until {@link #heal()}. Its own threads keep running (a real
   * freeze of a process is {@link BrokerProcess#pause()}).
   */
  public void pause(int i) {
    faults(i).hold();
  }

  /** Delays every Raft message of every node by {@code delay} until {@link #heal()}: a slow network. */
  public void delay(Duration delay) {
    for (int i = 0; i < nodes.length; i++) {
      if (nodes[i] != null && !nodes[i].isShutdown()) {
        faults(i).delay(delay);
      }
    }
  }

  /** Ends every partition, pause and delay. */
  public void heal() {
    for (int i = 0; i < nodes.length; i++) {
      if (nodes[i] != null && !nodes[i].isShutdown()) {
        faults(i).heal();
      }
    }
  }

  private NetworkFaults faults(int i) {
    return ((DefaultNode) nodes[i]).consensus().networkFaults()
        .orElseThrow(() -> new IllegalStateException("the consensus engine of node " + i + " has no network fault seam"));
  }

  @Override
  public void close() {
    for (Node n : nodes) {
      if (n != null && !n.isShutdown()) {
        n.shutdownNow();
      }
    }
  }
}
