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

  /** The instances of {@code service} that take calls. */
  List<ServiceInstance> discover(String service);

  /** Instances of {@code service} that take calls, other than the given ids. */
  List<ServiceInstance> alternatives(String service, Set<String> excludeIds);

  /**
   * Watches {@code service}: first a {@link InstanceEvent.Type#SNAPSHOT}, then every change in order.
   * {@code listener} runs on a client thread, one event at a time, and must not block.
   */
  Watch watch(String service, Consumer<InstanceEvent> listener);

  /** The broker ({@code host:port}) the client uses now. */
  String currentBroker();

  /** Closes every watch and connection. */
  @Override
  void close();
}
