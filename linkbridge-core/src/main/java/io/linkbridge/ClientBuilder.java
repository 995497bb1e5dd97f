package io.linkbridge;

import io.linkbridge.spi.ClientProvider;
import io.linkbridge.spi.ClientSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;

/** Configures a {@link LinkBridgeClient}. Setters check their argument at once; not thread-safe; reusable. */
public final class ClientBuilder {
  private final List<HostAndPort> brokers = new ArrayList<>();
  private FailoverConfig failover = FailoverConfig.DEFAULT;
  private Duration callTimeout = Duration.ofSeconds(5);
  private ClientProvider provider;

  ClientBuilder() {}

  /** The brokers, in order of preference ({@code host:port}). Required. */
  public ClientBuilder brokers(String... hostPorts) {
    brokers.clear();
    for (String hp : hostPorts) {
      brokers.add(HostAndPort.parse("broker", hp));
    }
    return this;
  }

  public ClientBuilder failover(FailoverConfig failover) {
    this.failover = Objects.requireNonNull(failover, "failover");
    return this;
  }

  /** The deadline of one request to one broker; at least 10ms. Default 5s. */
  public ClientBuilder callTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "callTimeout");
    if (timeout.compareTo(Duration.ofMillis(10)) < 0) {
      throw new IllegalArgumentException("callTimeout must be at least 10ms, was " + Durations.format(timeout));
    }
    this.callTimeout = timeout;
    return this;
  }

  /** The client implementation to use instead of the one found with {@link ServiceLoader}. */
  public ClientBuilder provider(ClientProvider provider) {
    this.provider = Objects.requireNonNull(provider, "provider");
    return this;
  }

  /** Builds the client; it connects lazily, on the first call. */
  public LinkBridgeClient build() {
    if (brokers.isEmpty()) {
      throw new IllegalStateException("brokers are not set: call brokers(\"host:port\", ...) before build()");
    }
    ClientProvider p = provider;
    if (p == null) {
      Iterator<ClientProvider> it = ServiceLoader.load(ClientProvider.class, ClientBuilder.class.getClassLoader()).iterator();
      if (!it.hasNext()) {
        throw new LinkBridgeException("No ClientProvider found: add io.linkbridge:linkbridge-grpc or call ClientBuilder.provider(...)");
      }
      p = it.next();
    }
    return p.connect(new ClientSpec(brokers, failover, callTimeout));
  }
}
