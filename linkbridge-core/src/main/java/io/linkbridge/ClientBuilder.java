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
  /** The default {@link #watchProgressInterval}: one second, so a silent broker is left within three. */
  public static final Duration DEFAULT_WATCH_PROGRESS_INTERVAL = Duration.ofSeconds(1);

  private final List<HostAndPort> brokers = new ArrayList<>();
  private FailoverConfig failover = FailoverConfig.DEFAULT;
  private Duration callTimeout = Duration.ofSeconds(5);
  private Duration watchProgressInterval = DEFAULT_WATCH_PROGRESS_INTERVAL;
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

  /**
   * How long a watch stream may stay idle before the broker sends a progress event (100ms..10m;
   * default 1s). A watch whose broker sends nothing for three intervals takes it for lost (frozen,
   * or a half-open connection) and reopens on the next broker from its last revision. Shorter finds
   * a silent broker sooner at the cost of one small message per interval and watch.
   */
  public ClientBuilder watchProgressInterval(Duration interval) {
    Objects.requireNonNull(interval, "watchProgressInterval");
    if (interval.compareTo(Duration.ofMillis(100)) < 0 || interval.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new IllegalArgumentException("watchProgressInterval must be in 100ms..10m, was " + Durations.format(interval));
    }
    this.watchProgressInterval = interval;
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
    return p.connect(new ClientSpec(brokers, failover, callTimeout, watchProgressInterval));
  }

  @Override
  public String toString() {
    return "ClientBuilder{brokers=" + brokers + ", failover=" + failover + ", callTimeout=" + Durations.format(callTimeout)
        + ", watchProgressInterval=" + Durations.format(watchProgressInterval) + "}";
  }
}
