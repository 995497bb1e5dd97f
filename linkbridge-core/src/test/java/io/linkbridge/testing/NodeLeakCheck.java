package io.linkbridge.testing;

import io.linkbridge.Node;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves a node running (like grpc-java's GrpcCleanupRule), after stopping it so
 * the next test gets its ports back. Nodes are tracked by {@link TestCluster} and {@link #track}.
 */
public final class NodeLeakCheck implements AfterEachCallback {
  private static final List<Node> tracked = new ArrayList<>();

  public static synchronized void track(Node node) {
    tracked.add(node);
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    List<Node> leaked = new ArrayList<>();
    synchronized (NodeLeakCheck.class) {
      for (Node n : tracked) {
        if (!n.isShutdown()) {
          leaked.add(n);
          n.shutdownNow();
        }
      }
      tracked.clear();
    }
    if (!leaked.isEmpty() && context.getExecutionException().isEmpty()) {
      throw new AssertionError("test left " + leaked.size() + " node(s) running: " + leaked + "; close them (try-with-resources on TestCluster)");
    }
  }
}
