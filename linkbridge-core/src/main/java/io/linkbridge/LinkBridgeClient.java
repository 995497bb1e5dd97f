package io.linkbridge;

import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A client of the brokers: discovers instances, watches services, asks for alternatives. It talks to
 * one broker at a time and moves along its broker list when that broker fails ({@link FailoverConfig});
 * watches resume on the new broker from their last revision, so no event is lost, repeated or
 * reordered. Create one with {@link LinkBridge#client()}. Thread-safe.
 */
public interface LinkBridgeClient extends AutoCloseable {

  /**
   * The instances of {@code service} that take calls.
   *
   * @throws IllegalArgumentException for a bad service name
   * @throws BrokerCallException when no broker answered within the {@link FailoverConfig}, or one
   *     refused the request (its status and the brokers tried are in the exception)
   */
  List<ServiceInstance> discover(String service);

  /** Instances of {@code service} that take calls, other than the given ids. */
  List<ServiceInstance> alternatives(String service, Set<String> excludeIds);

  /**
   * Watches {@code service}: first a {@link InstanceEvent.Type#SNAPSHOT}, then every change in order.
   * {@code listener} runs on a client thread ({@code linkbridge-client-callbacks}), one event at a
   * time, and must not block. A watch that gives up only logs it; use
   * {@link #watch(String, Consumer, Watch.StateListener)} to be told.
   */
  default Watch watch(String service, Consumer<InstanceEvent> listener) {
    return watch(service, listener, (state, cause) -> {});
  }

  /**
   * Watches {@code service} as {@link #watch(String, Consumer)}, and tells {@code states} each time the
   * watch connects, reconnects or ends, with the cause of a failure; both run on client threads, one
   * call at a time, and must not block.
   */
  Watch watch(String service, Consumer<InstanceEvent> listener, Watch.StateListener states);

  /** The broker ({@code host:port}) the client uses now. */
  String currentBroker();

  /** Closes every watch and connection. */
  @Override
  void close();
}
