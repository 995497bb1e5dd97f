package io.linkbridge.grpc;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
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
import java.util.Map;

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
 *
 * <p><b>When brokers fail.</b> Every channel naming the same broker list shares one
 * {@link io.linkbridge.LinkBridgeClient} (closed with the last of those channels). Its watch never
 * gives up: it retries with jittered waits from 500ms doubling to 5s for as long as the channel
 * lives, and honours {@code refresh()} by retrying at once. Until the service first resolves, each
 * failed attempt is reported to the channel, so a call without a deadline fails at once with
 * {@code UNAVAILABLE} naming the brokers tried (as a {@code dns:} target does), and a call made
 * {@code withWaitForReady()} waits. Once resolved, the channel keeps the instances it knows while the
 * watch reconnects, and gets every change it missed when a broker answers again.
 *
 * <p><b>Address attributes.</b> Each address is one instance taking calls, with its
 * {@link #WEIGHT}, {@link #METADATA} and {@link #INSTANCE_ID} as {@link EquivalentAddressGroup}
 * attributes, for a load-balancing policy of your own to read, for example to weight instances or to
 * prefer those of the caller's zone:
 *
 * <pre>{@code
 * for (EquivalentAddressGroup eag : resolvedAddresses.getAddresses()) {
 *   int weight = eag.getAttributes().get(LinkBridgeNameResolverProvider.WEIGHT);
 *   String zone = eag.getAttributes().get(LinkBridgeNameResolverProvider.METADATA).get("zone");
 * }
 * }</pre>
 *
 * grpc-java's built-in {@code pick_first} and {@code round_robin} ignore them (every address counts
 * once), and its {@code weighted_round_robin} weighs by the load the servers report (ORCA), not by
 * these attributes. Thread-safe.
 */
public final class LinkBridgeNameResolverProvider extends NameResolverProvider {
  /** The target scheme: {@code linkbridge://broker/service} or {@code linkbridge:///service?brokers=broker,broker}. */
  public static final String SCHEME = "linkbridge";

  /** The instance's relative weight, 1..10000 (instances of weight 0 take no calls and are not resolved). */
  public static final Attributes.Key<Integer> WEIGHT = Attributes.Key.create("io.linkbridge.weight");

  /** The instance's metadata (labels such as {@code zone} or {@code version}); immutable, may be empty. */
  public static final Attributes.Key<Map<String, String>> METADATA = Attributes.Key.create("io.linkbridge.metadata");

  /** The instance's id within its service. */
  public static final Attributes.Key<String> INSTANCE_ID = Attributes.Key.create("io.linkbridge.instance-id");

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
    return new ServiceNameResolver(service, parsed, args.getSynchronizationContext(), target.toString());
  }

  private static final String FORMS = "; expected linkbridge://host:port/service (one broker) or "
      + "linkbridge:///service?brokers=host:port,host:port (a list to fail over along), for example "
      + "linkbridge:///greeter?brokers=10.0.0.1:5000,10.0.0.2:5000";
}
