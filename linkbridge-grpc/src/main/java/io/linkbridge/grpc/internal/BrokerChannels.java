package io.linkbridge.grpc.internal;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.HostAndPort;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Channels from clients, resolvers and agents to brokers, all with the same HTTP/2 keepalive: after
 * {@link #KEEPALIVE_TIME} without a byte from the broker while a call is open, the client pings, and
 * a broker that does not answer within {@link #KEEPALIVE_TIMEOUT} has its connection closed (the
 * open calls fail UNAVAILABLE and move on). Brokers permit pings this often. Stateless.
 */
final class BrokerChannels {
  /** The smallest keepalive time grpc-java allows a client (it raises anything lower to 10s). */
  static final Duration KEEPALIVE_TIME = Duration.ofSeconds(10);
  static final Duration KEEPALIVE_TIMEOUT = Duration.ofSeconds(5);

  private BrokerChannels() {}

  /** A plaintext channel to {@code broker}; callbacks run on {@code executor} when not null. */
  static ManagedChannel open(HostAndPort broker, Executor executor) {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(broker.host(), broker.port()).usePlaintext()
        .keepAliveTime(KEEPALIVE_TIME.toMillis(), TimeUnit.MILLISECONDS)
        .keepAliveTimeout(KEEPALIVE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .keepAliveWithoutCalls(false);
    if (executor != null) {
      b.executor(executor);
    }
    return b.build();
  }
}
