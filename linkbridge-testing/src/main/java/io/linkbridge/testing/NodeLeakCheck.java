package io.linkbridge.testing;

import static org.awaitility.Awaitility.await;

import io.linkbridge.Node;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves a node running, or a node's thread alive, like grpc-java's
 * GrpcCleanupRule. Before each test it notes the live threads; after it, it stops the nodes still
 * running (so the next test gets their ports back), waits up to {@link #WAIT} for every tracked
 * node to terminate and for every thread a node starts ({@link #NODE_THREADS}) that was not alive
 * before the test to end, and fails the test with what is left. Nodes are tracked by
 * {@link TestCluster} and {@link #track}. A test that failed already is not failed again.
 */
public final class NodeLeakCheck implements BeforeEachCallback, AfterEachCallback {
  /** How the threads of a node, its Raft library and the clients and agents of this library are named. */
  public static final List<String> NODE_THREADS = List.of("linkbridge-", "raft-client-", "raft-server-");
  /**
   * Threads shared by every client of the JVM, like grpc-java's default executor: they outlive any one
   * client by design (idle ones end after a minute), so they are no leak.
   */
  public static final List<String> SHARED_THREADS = List.of("linkbridge-client-callbacks-");
  static final Duration WAIT = Duration.ofSeconds(5);
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(NodeLeakCheck.class);
  private static final List<Node> tracked = new ArrayList<>();

  public static synchronized void track(Node node) {
    tracked.add(node);
  }

  /** The live threads named like {@link #NODE_THREADS}. */
  public static Set<Thread> nodeThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && NODE_THREADS.stream().anyMatch(t.getName()::startsWith)
            && SHARED_THREADS.stream().noneMatch(t.getName()::startsWith))
        .collect(Collectors.toSet());
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    context.getStore(NAMESPACE).put(Thread.class, nodeThreads());
  }

  @Override
  public void afterEach(ExtensionContext context) {
    List<Node> nodes;
    synchronized (NodeLeakCheck.class) {
      nodes = List.copyOf(tracked);
      tracked.clear();
    }
    List<Node> running = nodes.stream().filter(n -> !n.isShutdown()).toList();
    running.forEach(Node::shutdownNow);
    List<Node> notTerminated = waitFor(() -> nodes.stream().filter(n -> !n.isTerminated()).toList());
    @SuppressWarnings("unchecked")
    Set<Thread> before = context.getStore(NAMESPACE).getOrDefault(Thread.class, Set.class, Set.of());
    List<String> threads = waitFor(() -> nodeThreads().stream().filter(t -> !before.contains(t)).map(Thread::getName).sorted().toList());
    if (context.getExecutionException().isPresent()) {
      return;
    }
    List<String> problems = new ArrayList<>();
    if (!running.isEmpty()) {
      problems.add("left " + running.size() + " node(s) running: " + running + "; close them (try-with-resources on TestCluster)");
    }
    if (!notTerminated.isEmpty()) {
      problems.add(notTerminated.size() + " node(s) not terminated " + WAIT + " after shutdown: " + notTerminated);
    }
    if (!threads.isEmpty()) {
      problems.add(threads.size() + " thread(s) still alive " + WAIT + " after the test: " + threads);
    }
    if (!problems.isEmpty()) {
      throw new AssertionError("test " + String.join("; ", problems));
    }
  }

  /** What {@code leftovers} still finds once it finds nothing or {@link #WAIT} has passed. */
  private static <T> List<T> waitFor(Supplier<List<T>> leftovers) {
    try {
      await().atMost(WAIT).until(() -> leftovers.get().isEmpty());
      return List.of();
    } catch (ConditionTimeoutException e) {
      return leftovers.get();
    }
  }
}
