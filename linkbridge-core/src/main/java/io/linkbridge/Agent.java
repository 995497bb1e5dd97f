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
 * agent.drain("greeter", "greeter-1");   // one instance: notice -> DRAINING, watchers move away
 * agent.shutdown(Duration.ofSeconds(2)); // notice -> DRAINING -> wait the grace period -> deregister -> close
 * }</pre>
 *
 * <p>It holds a stream to up to two brokers at once; when one is lost it connects to the next broker
 * of its list and registers again (idempotent: no duplicates), with jittered waits from
 * {@link AgentBuilder#retryInterval} doubling to {@link AgentBuilder#maxRetryInterval} between failed
 * attempts. A broker that says it leaves, or that sends nothing for three of its ping intervals, is
 * replaced make-before-break: the agent registers with another broker first, then ends the old
 * stream, so it stays attached throughout. Thread-safe; no method waits behind a reconnect.
 */
public interface Agent extends AutoCloseable {

  /** The agent id. */
  String id();

  /** The brokers ({@code host:port}) this agent holds a registered stream with now. */
  List<String> connectedBrokers();

  /** The instances this agent runs now, as it registers them (again after a broker loss). */
  List<ServiceInstance> instances();

  /**
   * Registers another instance, or replaces the one with the same service and id (a new weight, new
   * metadata, or {@link InstanceState#UP} again after {@link #drain}). Blocks until a broker
   * acknowledged it as committed; from then on the agent registers it again after every broker loss.
   *
   * @throws LinkBridgeException when no connected broker committed it (the agent is unchanged); a
   *     {@link RegistrationRejectedException} when the registry refused it, for example because
   *     another agent owns the id
   * @throws IllegalStateException after {@link #shutdown}
   */
  void register(ServiceInstance instance);

  /**
   * Sends the shutdown notice of one instance: it starts {@link InstanceState#DRAINING}, takes no new
   * calls, and every watcher of its service is told with the alternatives. It stays registered until
   * {@link #deregister} (or {@link #register} with state UP brings it back). Blocks until committed.
   *
   * @throws IllegalArgumentException when this agent runs no such instance
   * @throws LinkBridgeException as {@link #register}
   */
  void drain(String service, String instanceId);

  /**
   * Removes one instance of this agent from the registry; blocks until committed. Deregistering an
   * instance the registry no longer holds (an operator removed it) succeeds.
   *
   * @throws IllegalArgumentException when this agent runs no such instance
   * @throws LinkBridgeException when no connected broker committed it (the agent still runs it)
   */
  void deregister(String service, String instanceId);

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
