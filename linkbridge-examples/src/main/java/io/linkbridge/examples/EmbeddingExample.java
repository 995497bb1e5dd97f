package io.linkbridge.examples;

import io.linkbridge.LinkBridge;
import io.linkbridge.Node;
import io.linkbridge.Peer;
import io.linkbridge.ServiceInstance;
import java.nio.file.Path;
import java.util.List;

/** The embedding example of the README, compiled and tested so it cannot drift. */
public final class EmbeddingExample {
  private EmbeddingExample() {}

  /** Starts a one-broker cluster, registers an instance, and returns what the registry holds. */
  public static List<ServiceInstance> run(Path dataDir, String raftAddress) throws Exception {
    // README:begin
    try (Node node = LinkBridge.node()
        .id("broker-1").raftAddress(raftAddress).dataDir(dataDir)
        .join(List.of(Peer.of("broker-1", raftAddress)))
        .start()) {
      node.ready().get();
      node.registry().register(ServiceInstance.builder("greeter").id("greeter-1")
          .endpoint("10.0.0.7", 9000).grpcService("helloworld.Greeter").build()).get();
      return node.registry().instances("greeter");
    }
    // README:end
  }
}
