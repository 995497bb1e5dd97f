package io.linkbridge.grpc;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import io.linkbridge.grpc.internal.ServiceNameResolver;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Lets any grpc-java channel call a service registered in Link Bridge:
 *
 * <pre>{@code
 * ManagedChannel channel = Grpc.newChannelBuilder("linkbridge:///greeter?brokers=10.0.0.1:5000,10.0.0.2:5000",
 *         InsecureChannelCredentials.create())
 *     .defaultLoadBalancingPolicy("round_robin")
 *     .build();
 * }</pre>
 *
 * <p>The target names the service and the brokers to watch it through: one as the authority
 * ({@code linkbridge://10.0.0.1:5000/greeter}), or a list to fail over along in the query, as above. The channel's addresses are the service's instances that take calls, kept current by
 * a watch: an instance that sends its shutdown notice leaves the list at once, before it is
 * deregistered, so new calls go to the others. Registered with {@link java.util.ServiceLoader}, so
 * the {@code linkbridge} scheme works as soon as {@code linkbridge-grpc} is on the class path.
 * Thread-safe.
 */
public final class LinkBridgeNameResolverProvider extends NameResolverProvider {
  /** The target scheme: {@code linkbridge://broker/service} or {@code linkbridge:///service?brokers=broker,broker}. */
  public static final String SCHEME = "linkbridge";

  @Override
  protected boolean isAvailable() {
    return true;
  }

  /**
   * Below DNS's 5: grpc-java gives a target without a scheme ({@code "10.0.0.1:5000"}) to the
   * highest-priority provider, and that must stay DNS for every other channel of the application.
   */
  @Override
  protected int priority() {
    return 1;
  }

  @Override
  public String getDefaultScheme() {
    return SCHEME;
  }

  @Override
  public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
    return List.of(InetSocketAddress.class);
  }

  /**
   * @throws IllegalArgumentException when the target does not name brokers and a service, saying
   *     the expected form
   */
  @Override
  public NameResolver newNameResolver(URI target, NameResolver.Args args) {
    if (!SCHEME.equals(target.getScheme())) {
      return null;
    }
    String path = target.getPath();
    if (path == null || path.length() < 2 || path.indexOf('/', 1) >= 0) {
      throw new IllegalArgumentException("target " + target + " names no service (or more than one)" + FORMS);
    }
    String service = path.substring(1);
    ServiceInstance.builder(service); // the service-name rule, with its message
    List<String> brokers = new ArrayList<>();
    if (target.getRawAuthority() != null && !target.getRawAuthority().isEmpty()) {
      brokers.add(target.getRawAuthority());
    }
    String query = target.getQuery();
    if (query != null && !query.isEmpty()) {
      if (!query.startsWith("brokers=")) {
        throw new IllegalArgumentException("target " + target + " has an unknown query '" + query + "'" + FORMS);
      }
      brokers.addAll(List.of(query.substring("brokers=".length()).split(",")));
    }
    if (brokers.isEmpty()) {
      throw new IllegalArgumentException("target " + target + " names no broker" + FORMS);
    }
    List<String> parsed = new ArrayList<>();
    for (String broker : brokers) {
      parsed.add(HostAndPort.parse("target " + target + ": broker", broker).toString());
    }
    return new ServiceNameResolver(service, parsed, args.getSynchronizationContext());
  }

  private static final String FORMS = "; expected linkbridge://host:port/service (one broker) or "
      + "linkbridge:///service?brokers=host:port,host:port (a list to fail over along), for example "
      + "linkbridge:///greeter?brokers=10.0.0.1:5000,10.0.0.2:5000";
}
