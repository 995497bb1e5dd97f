package io.linkbridge.grpc.internal;

import io.linkbridge.FailoverConfig;
import io.linkbridge.HostAndPort;
import io.linkbridge.spi.ClientSpec;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The clients of the {@code linkbridge:} resolvers: one per broker list, shared by every channel
 * that names that list and closed when the last of them shuts down. Their watches never give up
 * ({@link #FAILOVER}): a resolver retries for as long as its channel lives. Thread-safe.
 */
final class SharedClients {
  /** Retries for ever, waiting 500ms at first, doubling to at most 5s, jittered. */
  static final FailoverConfig FAILOVER = FailoverConfig.builder().retryInterval(Duration.ofMillis(500))
      .maxRetryInterval(Duration.ofSeconds(5)).continuousRetry(true).build();

  private record Shared(GrpcClient client, int users) {}

  private static final Map<List<String>, Shared> clients = new HashMap<>();

  private SharedClients() {}

  /** The client of {@code brokers} (host:port, in order), created if no resolver holds it; release it once. */
  static synchronized GrpcClient acquire(List<String> brokers) {
    List<String> key = List.copyOf(brokers);
    Shared s = clients.get(key);
    if (s == null) {
      List<HostAndPort> parsed = key.stream().map(b -> HostAndPort.parse("broker", b)).toList();
      s = new Shared(new GrpcClient(new ClientSpec(parsed, FAILOVER, Duration.ofSeconds(5))), 0);
    }
    clients.put(key, new Shared(s.client(), s.users() + 1));
    return s.client();
  }

  /** One user of {@code client} is done with it; the last one closes it. */
  static synchronized void release(GrpcClient client) {
    for (Map.Entry<List<String>, Shared> e : clients.entrySet()) {
      if (e.getValue().client() == client) {
        int users = e.getValue().users() - 1;
        if (users == 0) {
          clients.remove(e.getKey());
          client.close();
        } else {
          e.setValue(new Shared(client, users));
        }
        return;
      }
    }
  }

  /** How many resolvers hold the client of {@code brokers} (0: none is open). */
  static synchronized int users(List<String> brokers) {
    Shared s = clients.get(List.copyOf(brokers));
    return s == null ? 0 : s.users();
  }
}
