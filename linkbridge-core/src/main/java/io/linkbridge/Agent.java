package io.linkbridge;

import java.time.Duration;
import java.util.List;

/**
 * An agent running beside service instances: it registers them with the brokers, answers the
 * brokers' pings, and announces its shutdown before it stops. Create one with
 * {@link LinkBridge#agent()}.
 *
 * <pre>{@code
 * Agent agent = LinkBridge.agent().id("agent-a1").brokers("127.0.0.1:5000", "127.0.0.1:5001")
 *     .register(ServiceInstance.builder("greeter").id("greeter-1").endpoint("127.0.0.1", 9000)
 *         .grpcService("helloworld.Greeter").build())
 *     .start();                          // returns once the registration is committed
 * agent.shutdown(Duration.ofSeconds(2)); // notice -> DRAINING -> wait the grace period -> deregister -> close
 * }</pre>
 *
 * <p>It holds a stream to up to two brokers at once; when one is lost it connects to the next broker
 * of its list and registers again (idempotent: no duplicates). Thread-safe.
 */
public interface Agent extends AutoCloseable {

  /** The agent id. */
  String id();

  /** The brokers ({@code host:port}) this agent holds a registered stream with now. */
  List<String> connectedBrokers();

  /**
   * Leaves gracefully: sends the shutdown notice (its instances start DRAINING and every watcher is
   * told, with alternatives), keeps serving for {@code gracePeriod}, deregisters its instances, and
   * closes its streams. Blocks until done.
   */
  void shutdown(Duration gracePeriod);

  /** {@link #shutdown(Duration)} with no grace period if not shut down yet. */
  @Override
  void close();
}
