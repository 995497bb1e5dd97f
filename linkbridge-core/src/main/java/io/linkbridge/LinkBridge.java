package io.linkbridge;


/**
 * The entry point of Link Bridge.
 *
 * <pre>{@code
 * Node node = LinkBridge.node()
 *     .id("broker-1").raftAddress("127.0.0.1:7000").dataDir(Path.of("data/broker-1"))
 *     .join(List.of(Peer.of("broker-1", "127.0.0.1:7000"), Peer.of("broker-2", "127.0.0.1:7001"),
 *                   Peer.of("broker-3", "127.0.0.1:7002")))
 *     .start();
 * }</pre>
 */
public final class LinkBridge {
  private LinkBridge() {}

  /** A builder for an embedded broker node. */
  public static NodeBuilder node() {
    return new NodeBuilder();
  }

  /** A builder for a client that discovers and watches services through the brokers. */
  public static ClientBuilder client() {
    return new ClientBuilder();
  }

  /** A builder for an agent that registers this process's service instances with the brokers. */
  public static AgentBuilder agent() {
    return new AgentBuilder();
  }

}
