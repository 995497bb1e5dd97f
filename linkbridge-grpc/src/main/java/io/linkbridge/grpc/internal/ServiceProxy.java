package io.linkbridge.grpc.internal;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ClientStreamTracer;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Drainable;
import io.grpc.HandlerRegistry;
import io.grpc.KnownLength;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.linkbridge.HostAndPort;
import io.linkbridge.ProxyConfig;
import io.linkbridge.ProxyStats;
import io.linkbridge.Registry;
import io.linkbridge.ServiceInstance;
import io.linkbridge.registry.ClusterState;
import io.linkbridge.registry.RegistryEvent;
import io.linkbridge.spi.Readiness;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's proxy: any call {@code /pkg.Service/Method} the broker does not serve itself goes to
 * an instance taking calls (UP, weight above 0) that registered {@code pkg.Service} among its gRPC
 * services, chosen by weighted round robin; the {@code linkbridge-service} request header narrows
 * the choice to one Link Bridge service. Messages travel as bytes, never parsed; request headers,
 * response headers, trailers and status pass unchanged; the caller's deadline goes along (the time
 * left, as gRPC propagates it); a cancel on either side reaches the other at once. Flow control
 * runs end to end: each side asks the other for one message only once it could pass the last one
 * on, so a call holds at most one message per direction here beside the transports' HTTP/2 windows,
 * and a slow reader slows its writer.
 *
 * <p>Limits ({@link ProxyConfig}): calls carried at once by the broker and sent to one instance
 * (RESOURCE_EXHAUSTED naming the limit); an instance whose calls fail so many times in a row is set
 * aside for a while (outlier ejection), unless every instance is. Counts and latencies per gRPC
 * service: {@link #stats()}. On close, open calls end UNAVAILABLE ("call again").
 *
 * <p>Threads: a call runs on the network thread of its caller's connection, and goes out on that
 * thread's own connection to the instance ({@link EventLoops}): one channel per instance address and
 * network thread, made when first needed and closed (letting its calls finish) once no instance of
 * the registry has that address any more. Thread-safe; each proxied call serializes its own callbacks.
 */
final class ServiceProxy extends HandlerRegistry implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServiceProxy.class);
  /** Names the Link Bridge service to route to, when several serve the same gRPC service. */
  static final Metadata.Key<String> SERVICE_HEADER = Metadata.Key.of("linkbridge-service", Metadata.ASCII_STRING_MARSHALLER);
  /** Request headers the transports set themselves: not copied onto the call to the instance (nor any {@code linkbridge-*} header). */
  private static final List<String> TRANSPORT_HEADERS = List.of("grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "content-type",
      "te", "user-agent");
  /** The broker's own services: a method of theirs it does not know is UNIMPLEMENTED, never proxied. */
  private static final List<String> OWN_SERVICE_PREFIXES = List.of("linkbridge.", "grpc.health.", "grpc.reflection.");
  /** How often channels to addresses no instance has any more are looked for, besides after each change. */
  private static final long RECONCILE_SECONDS = 10;
  /**
   * Statuses that say nothing of the instance: the caller gave up, or the instance answered an error
   * a caller can provoke with what it sends (bytes pass unparsed). Neither a failure nor a success.
   */
  private static final Set<Status.Code> NEUTRAL = EnumSet.of(Status.Code.CANCELLED, Status.Code.DEADLINE_EXCEEDED, Status.Code.INTERNAL,
      Status.Code.UNKNOWN, Status.Code.DATA_LOSS, Status.Code.RESOURCE_EXHAUSTED);
  /** At most this many gRPC services get counts of their own; calls to any further name count under {@link #OTHER}. */
  static final int MAX_STATS_SERVICES = 1_000;
  static final String OTHER = "(other)";
  /**
   * The HTTP/2 window of each call from an instance, fixed (grpc-java would otherwise grow it up to
   * 8 MiB): what the broker may hold of a stream whose caller does not read (docs/proxy.md).
   */
  static final int FLOW_CONTROL_WINDOW = 1 << 20;
  /**
   * grpc-java's own retry buffer on the channels to instances (its transparent retry of a call an
   * instance refused unseen, e.g. racing its GOAWAY): the request messages of one call until the
   * instance's response headers arrive, and of all calls to one address from this broker (its
   * channels share this, one per network thread). Beyond either, a call is simply not retried.
   */
  static final long RETRY_BUFFER_PER_CALL = 1 << 20;
  static final long RETRY_BUFFER_PER_ADDRESS = 16 << 20;
  /**
   * What one stalled call is taken to hold against {@code ProxyConfig.stalledBytes}: the HTTP/2
   * window of each direction (docs/proxy.md), whether or not its writer filled them.
   */
  static final long STALLED_CALL_BYTES = 2L * FLOW_CONTROL_WINDOW;
  /** An ejection lasts ejectionTime times how many times in a row the instance was ejected, up to this. */
  private static final int MAX_EJECTION_FACTOR = 10;
  /**
   * Messages as bytes, copied once each way: read at their known length into one array (not through
   * {@code readAllBytes}, which allocates 8 KiB per message on Java 17 and copies twice), and written
   * by draining the array into the transport's buffer. A compressed message is decompressed here,
   * on the network thread of its call.
   */
  static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new DrainableBytes(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        if (!(stream instanceof KnownLength)) {
          return stream.readAllBytes(); // a decompressing stream: its length is not known before
        }
        byte[] message = new byte[stream.available()];
        int got = stream.readNBytes(message, 0, message.length);
        if (got < message.length) {
          return java.util.Arrays.copyOf(message, got); // it had less after all
        }
        int next = stream.read();
        if (next == -1) {
          return message;
        }
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream(); // it had more after all
        all.write(message);
        all.write(next);
        stream.transferTo(all);
        return all.toByteArray();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  private static final class DrainableBytes extends ByteArrayInputStream implements Drainable, KnownLength {
    DrainableBytes(byte[] bytes) {
      super(bytes);
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int n = count - pos;
      target.write(buf, pos, n);
      pos = count;
      return n;
    }
  }

  private final String brokerId;
  private final Registry registry;
  private final Readiness readiness;
  private final ProxyConfig config;
  private final EventLoops loops;
  private final Map<HostAndPort, AddressChannels> channels = new ConcurrentHashMap<>();
  /** The choosing state of each route (gRPC service, and the Link Bridge service when named). */
  private final Map<String, Chooser> choosers = new ConcurrentHashMap<>();
  /** Calls in flight and failures in a row of each instance ({@code service/id}). */
  private final Map<String, InstanceHealth> health = new ConcurrentHashMap<>();
  private final Map<String, ServiceStats> stats = new ConcurrentHashMap<>();
  /** The calls carried now, by either data path (this one, and the proxy port's {@link FrameProxy}). */
  private final Set<Carried> open = ConcurrentHashMap.newKeySet();
  /** Told, after each look over the registry's instances, which addresses it still has (the frame path's connections). */
  private final List<java.util.function.Consumer<Set<HostAndPort>>> addressUsers = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final AtomicInteger carried = new AtomicInteger();
  private final AutoCloseable subscription;
  private final ScheduledExecutorService reconciler;
  private final AtomicBoolean reconcilePending = new AtomicBoolean();
  private final GrpcRoutes routes;
  private volatile boolean closed;

  ServiceProxy(String brokerId, Registry registry, Readiness readiness, ProxyConfig config, EventLoops loops) {
    this.brokerId = brokerId;
    this.routes = new GrpcRoutes(registry);
    routes.addListener(touched -> touched.stream().filter(g -> !routes.registered(g)) // no one serves it any more: forget its turns
        .forEach(g -> choosers.keySet().removeIf(k -> k.startsWith(g + "/"))));
    this.loops = loops;
    this.registry = registry;
    this.readiness = readiness;
    this.config = config;
    this.reconciler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "linkbridge-proxy-channels-" + brokerId);
      t.setDaemon(true);
      return t;
    });
    reconciler.scheduleWithFixedDelay(this::reconcile, RECONCILE_SECONDS, RECONCILE_SECONDS, TimeUnit.SECONDS);
    reconciler.scheduleWithFixedDelay(this::endStalledBeyondLimit, 1, 1, TimeUnit.SECONDS);
    this.subscription = registry.subscribe(this::onChange);
  }

  /** Which instances take calls for each gRPC service, as this proxy routes them. */
  GrpcRoutes routes() {
    return routes;
  }

  /** Whether {@code method} is one this proxy carries (its messages are bytes), not one of the broker's own. */
  static boolean isProxied(MethodDescriptor<?, ?> method) {
    return method.getRequestMarshaller() == BYTES;
  }

  @Override
  public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
    if (OWN_SERVICE_PREFIXES.stream().anyMatch(methodName::startsWith)) {
      return null; // UNIMPLEMENTED: the broker's own services are never proxied
    }
    return proxied(methodName);
  }

  /** For the dedicated proxy port, where the broker serves none of its own: every method is proxied. */
  HandlerRegistry everyMethod() {
    return new HandlerRegistry() {
      @Override
      public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
        return proxied(methodName);
      }
    };
  }

  private ServerMethodDefinition<?, ?> proxied(String methodName) {
    MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]>newBuilder().setType(MethodDescriptor.MethodType.UNKNOWN)
        .setFullMethodName(methodName).setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    return ServerMethodDefinition.create(method, new Handler(method));
  }

  private final class Handler implements ServerCallHandler<byte[], byte[]> {
    private final MethodDescriptor<byte[], byte[]> method;

    Handler(MethodDescriptor<byte[], byte[]> method) {
      this.method = method;
    }

    @Override
    public ServerCall.Listener<byte[]> startCall(ServerCall<byte[], byte[]> call, Metadata headers) {
      long started = System.nanoTime();
      String name = method.getFullMethodName();
      String grpcService = MethodDescriptor.extractFullServiceName(name);
      if (grpcService == null || grpcService.isEmpty() || name.length() == grpcService.length() + 1 || name.indexOf('/') != name.lastIndexOf('/')) {
        return refuse(call, statsOf(OTHER), started, Status.INVALID_ARGUMENT.withDescription("a call's path must be /package.Service/Method, was /"
            + name));
      }
      ServiceStats serviceStats = statsOf(routes.registered(grpcService) ? grpcService : OTHER);
      Optional<String> notServing = readiness.notServing();
      if (notServing.isPresent() && !readiness.leaving()) { // a leaving broker still carries calls: its view stays current until it left
        return refuse(call, serviceStats, started, Status.UNAVAILABLE.withDescription("broker " + brokerId + " cannot proxy " + name + " now: "
            + notServing.get()));
      }
      if (closed) {
        return refuse(call, serviceStats, started, Status.UNAVAILABLE.withDescription("broker " + brokerId + " is shutting down: call again"
            + " through another broker"));
      }
      if (carried.incrementAndGet() > config.maxCalls()) {
        carried.decrementAndGet();
        return refuse(call, serviceStats, started, Status.RESOURCE_EXHAUSTED.withDescription("broker " + brokerId + " carries "
            + config.maxCalls() + " proxied calls now, its limit (ProxyConfig maxCalls): call again later, through another broker, or raise"
            + " the limit"));
      }
      String service = headers.get(SERVICE_HEADER);
      ServiceInstance target;
      try {
        target = pick(grpcService, service, null);
      } catch (StatusException e) {
        carried.decrementAndGet();
        return refuse(call, serviceStats, started, e.status);
      }
      Context caller = Context.current();
      ProxiedCall proxied = new ProxiedCall(call, copyOf(headers), serviceStats, started, failed -> {
        try {
          return pick(grpcService, service, failed);
        } catch (StatusException e) {
          return null;
        }
      }, (instance, wentOut) -> {
        // created in the caller's context: gRPC carries its deadline and its cancellation to the instance's call
        Context previous = caller.attach();
        try {
          return channelTo(instance).newCall(method, callOptions(wentOut));
        } finally {
          caller.detach(previous);
        }
      });
      return proxied.start(target);
    }
  }

  /**
   * A call the proxy carries, by either data path: the stall bound ({@link #endStalledBeyondLimit})
   * and {@link #close} reach it through this.
   */
  interface Carried {
    /** Since when one side has not taken what the broker holds for it; 0 while neither waits. */
    long stalledSince();

    /** Ends the call for the stall bound, if it is still in the stall that began at {@code since}; whether it did. */
    boolean endStalled(long since, long now, long limit);

    /** Ends the call with {@code status} for the caller, and cancels the instance's side. */
    void abort(Status status);
  }

  /**
   * Whether the frame path may carry a call now: the broker serves (or is leaving, which still
   * carries), is not closing, and one of its {@code maxCalls} slots is free, which this takes. When
   * not, the frame path hands the call to this proxy, whose answer names why.
   */
  boolean takeCallSlot() {
    if (closed || (readiness.notServing().isPresent() && !readiness.leaving())) {
      return false;
    }
    if (carried.incrementAndGet() > config.maxCalls()) {
      carried.decrementAndGet();
      return false;
    }
    return true;
  }

  void releaseCallSlot() {
    carried.decrementAndGet();
  }

  /** {@link #pick}, or null when no instance can take the call (the caller is answered why elsewhere). */
  ServiceInstance pickOrNull(String grpcService, String service, ServiceInstance excluded) {
    try {
      return pick(grpcService, service, excluded);
    } catch (StatusException e) {
      return null;
    }
  }

  /** The counts of {@code grpcService}'s calls (of {@value #OTHER} for one no instance registered). */
  ServiceStats statsFor(String grpcService) {
    return statsOf(routes.registered(grpcService) ? grpcService : OTHER);
  }

  InstanceHealth healthOf(ServiceInstance instance) {
    return health.computeIfAbsent(instance.service() + "/" + instance.id(), k -> new InstanceHealth());
  }

  Set<Carried> open() {
    return open;
  }

  boolean closed() {
    return closed;
  }

  /** {@code users} is told, after each look over the registry, which instance addresses it still has. */
  void onAddressesInUse(java.util.function.Consumer<Set<HostAndPort>> users) {
    addressUsers.add(users);
  }

  /** A status to answer a call with, as an exception. */
  private static final class StatusException extends Exception {
    final transient Status status;

    StatusException(Status status) {
      super(status.getDescription(), null, false, false);
      this.status = status;
    }
  }

  private static ServerCall.Listener<byte[]> refuse(ServerCall<byte[], byte[]> call, ServiceStats stats, long started, Status status) {
    stats.ended(started, status);
    call.close(status, new Metadata());
    return new ServerCall.Listener<>() {};
  }

  /**
   * The caller's deadline (the time it has left) on the call to the instance, and a tracer that
   * sets {@code wentOut} once the call's headers are written to a connection: from then on the
   * instance may have acted on it, and it is never sent again.
   */
  private static CallOptions callOptions(AtomicBoolean wentOut) {
    Deadline deadline = Context.current().getDeadline();
    CallOptions options = (deadline == null ? CallOptions.DEFAULT : CallOptions.DEFAULT.withDeadline(deadline))
        .withStreamTracerFactory(new ClientStreamTracer.Factory() {
          @Override
          public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
            return new ClientStreamTracer() {
              @Override
              public void outboundHeaders() {
                wentOut.set(true);
              }
            };
          }
        });
    return options;
  }

  private static Metadata copyOf(Metadata headers) {
    Metadata copy = new Metadata();
    copy.merge(headers);
    for (String key : headers.keys()) {
      if (TRANSPORT_HEADERS.contains(key) || key.startsWith("linkbridge-")) {
        if (key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
          copy.discardAll(Metadata.Key.of(key, Metadata.BINARY_BYTE_MARSHALLER));
        } else {
          copy.discardAll(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
        }
      }
    }
    return copy;
  }

  /**
   * The next instance, by the configured choice, of those taking calls for {@code grpcService} (of
   * {@code service} when named), other than {@code excluded} (null: none excluded), with one of its
   * call slots taken for the caller.
   */
  ServiceInstance pick(String grpcService, String service, ServiceInstance excluded) throws StatusException {
    ClusterState state = registry.state();
    List<ServiceInstance> candidates = routes.takingCalls(grpcService);
    if (service != null) {
      try {
        ServiceInstance.builder(service); // the service-name rule
      } catch (IllegalArgumentException e) {
        throw new StatusException(Status.INVALID_ARGUMENT.withDescription("header linkbridge-service: " + e.getMessage()));
      }
      if (!state.hasService(service)) {
        throw new StatusException(Status.NOT_FOUND.withDescription("header linkbridge-service names service '" + service
            + "', which the registry does not hold"));
      }
      candidates = candidates.stream().filter(i -> i.service().equals(service)).toList();
    }
    if (excluded != null) {
      candidates = candidates.stream().filter(i -> !(i.service().equals(excluded.service()) && i.id().equals(excluded.id()))).toList();
    }
    if (candidates.isEmpty()) {
      throw new StatusException(Status.UNAVAILABLE.withDescription("no instance " + (service == null ? "" : "of service '" + service + "' ")
          + "serving " + grpcService + " takes calls (broker " + brokerId + ")"));
    }
    long now = System.nanoTime();
    List<ServiceInstance> healthy = candidates.stream().filter(i -> !healthOf(i).ejected(now)).toList();
    if (healthy.isEmpty()) {
      healthy = candidates; // every one is set aside: a call to them is better than none
    }
    Chooser chooser = choosers.computeIfAbsent(grpcService + "/" + (service == null ? "" : service),
        k -> config.balancing() == ProxyConfig.Balancing.LEAST_OUTSTANDING ? new LeastOutstanding() : new SmoothRoundRobin());
    List<ServiceInstance> free = new ArrayList<>(healthy);
    while (true) {
      free.removeIf(i -> healthOf(i).inFlight.get() >= config.maxCallsPerInstance());
      if (free.isEmpty()) {
        throw new StatusException(Status.RESOURCE_EXHAUSTED.withDescription("every instance serving " + grpcService + " carries "
            + config.maxCallsPerInstance() + " calls from broker " + brokerId + " now, its limit (ProxyConfig maxCallsPerInstance): call"
            + " again later, or raise the limit"));
      }
      ServiceInstance chosen = chooser.next(free);
      if (healthOf(chosen).inFlight.incrementAndGet() <= config.maxCallsPerInstance()) {
        return chosen; // its slot is taken: the call's attempt on it gives it back when it ends
      }
      healthOf(chosen).inFlight.decrementAndGet(); // another call took the last slot meanwhile
      free.remove(chosen);
    }
  }

  private ServiceStats statsOf(String grpcService) {
    ServiceStats s = stats.get(grpcService);
    if (s != null) {
      return s;
    }
    String key = stats.size() < MAX_STATS_SERVICES ? grpcService : OTHER;
    return stats.computeIfAbsent(key, k -> new ServiceStats());
  }

  /** What the proxy carried per gRPC service, sorted by name. */
  List<ProxyStats> stats() {
    List<ProxyStats> all = new ArrayList<>();
    stats.forEach((name, s) -> all.add(s.snapshot(name)));
    all.sort(Comparator.comparing(ProxyStats::grpcService));
    return all;
  }

  /** Chooses one of the instances that may take a call now (a non-empty list). */
  private interface Chooser {
    ServiceInstance next(List<ServiceInstance> candidates);
  }

  /**
   * The instance with the fewest calls in flight from this broker relative to its weight; among equals,
   * the next in turn (the turn moves on with every call, so equals share the calls).
   */
  private final class LeastOutstanding implements Chooser {
    private final AtomicInteger turn = new AtomicInteger();

    @Override
    public ServiceInstance next(List<ServiceInstance> candidates) {
      int n = candidates.size();
      int start = Math.floorMod(turn.getAndIncrement(), n);
      ServiceInstance best = null;
      double bestLoad = Double.MAX_VALUE;
      for (int k = 0; k < n; k++) {
        ServiceInstance i = candidates.get((start + k) % n);
        double load = (healthOf(i).inFlight.get() + 1.0) / i.weight();
        if (load < bestLoad) {
          best = i;
          bestLoad = load;
        }
      }
      return best;
    }
  }

  /**
   * Calls in flight from this broker to one instance, and its failures in a row: after
   * {@code ejectAfterFailures} of them it is set aside for {@code ejectionTime} times how many times in
   * a row it was (up to {@value #MAX_EJECTION_FACTOR}); a call that succeeds clears both.
   */
  final class InstanceHealth {
    final AtomicInteger inFlight = new AtomicInteger();
    private int failures;
    private int ejections;
    private volatile long ejectedUntil;
    private volatile boolean ejected;

    boolean ejected(long now) {
      return ejected && now - ejectedUntil < 0;
    }

    /**
     * One call to {@code instance} ended with {@code status}; {@code reached}: its headers were
     * written to the instance's connection. A failure is UNAVAILABLE, or a deadline that passed
     * before the call could even reach the instance (an address that drops packets).
     */
    void ended(ServiceInstance instance, Status status, boolean reached) {
      Status.Code code = status.getCode();
      boolean failure = code == Status.Code.UNAVAILABLE || (code == Status.Code.DEADLINE_EXCEEDED && !reached);
      if (!failure && NEUTRAL.contains(code)) {
        return;
      }
      Duration time;
      synchronized (this) {
        if (!failure) {
          failures = 0;
          ejections = 0;
          return;
        }
        if (config.ejectAfterFailures() == 0 || ++failures < config.ejectAfterFailures()) {
          return;
        }
        failures = 0;
        ejections = Math.min(ejections + 1, MAX_EJECTION_FACTOR);
        time = config.ejectionTime().multipliedBy(ejections);
        ejectedUntil = System.nanoTime() + time.toNanos();
        ejected = true;
      }
      log.warn("Broker {} sets instance {}/{} ({}:{}) aside for {}: its last {} proxied calls failed (the last with {})", brokerId,
          instance.service(), instance.id(), instance.host(), instance.port(), io.linkbridge.Durations.format(time),
          config.ejectAfterFailures(), status);
    }
  }

  /** Counts and latencies of the calls to one gRPC service. Thread-safe. */
  static final class ServiceStats {
    private final LongAdder calls = new LongAdder();
    private final LongAdder failures = new LongAdder();
    final AtomicInteger inFlight = new AtomicInteger();
    private final Latencies latencies = new Latencies();

    void ended(long startedNanos, Status status) {
      calls.increment();
      if (!status.isOk()) {
        failures.increment();
      }
      latencies.record((System.nanoTime() - startedNanos) / 1_000);
    }

    ProxyStats snapshot(String name) {
      return new ProxyStats(name, calls.sum(), failures.sum(), inFlight.get(), latencies.percentile(0.5), latencies.percentile(0.99),
          Duration.ofNanos(latencies.max.get() * 1_000));
    }
  }

  /**
   * A log-linear histogram of microseconds: 16 buckets per power of two, so a percentile is within
   * 1/16 of the value. Lock-free.
   */
  static final class Latencies {
    private static final int SUB = 16;
    private static final int SIZE = SUB + 59 * SUB;
    private final AtomicLongArray counts = new AtomicLongArray(SIZE);
    private final AtomicLong max = new AtomicLong();

    void record(long micros) {
      long v = Math.max(0, micros);
      counts.incrementAndGet(bucket(v));
      max.accumulateAndGet(v, Math::max);
    }

    static int bucket(long v) {
      if (v < SUB) {
        return (int) v;
      }
      int e = 63 - Long.numberOfLeadingZeros(v); // 4 or more
      return SUB + (e - 4) * SUB + (int) ((v >>> (e - 4)) & (SUB - 1));
    }

    /** The middle of bucket {@code b}, in microseconds. */
    static long middle(int b) {
      if (b < SUB) {
        return b;
      }
      int e = (b - SUB) / SUB + 4;
      long low = (long) (SUB + (b - SUB) % SUB) << (e - 4);
      return low + ((1L << (e - 4)) >> 1);
    }

    /** The {@code q} quantile (0..1); zero when nothing was recorded. */
    Duration percentile(double q) {
      long total = 0;
      for (int b = 0; b < SIZE; b++) {
        total += counts.get(b);
      }
      if (total == 0) {
        return Duration.ZERO;
      }
      long rank = Math.max(1, (long) Math.ceil(q * total));
      long seen = 0;
      for (int b = 0; b < SIZE; b++) {
        seen += counts.get(b);
        if (seen >= rank) {
          return Duration.ofNanos(Math.min(middle(b), max.get()) * 1_000);
        }
      }
      return Duration.ofNanos(max.get() * 1_000);
    }
  }

  /**
   * Smooth weighted round robin (as nginx does it): each turn every candidate gains its weight, the
   * one with the most is chosen and gives back the sum of all. Weights 2 and 1 give a, b, a, a, b,
   * a: interleaved, never in blocks.
   */
  private static final class SmoothRoundRobin implements Chooser {
    private final Map<String, Long> current = new HashMap<>();

    @Override
    public synchronized ServiceInstance next(List<ServiceInstance> candidates) {
      ServiceInstance best = null;
      long bestWeight = Long.MIN_VALUE;
      long total = 0;
      Map<String, Long> now = new HashMap<>();
      for (ServiceInstance i : candidates) {
        String key = i.service() + "/" + i.id();
        long w = current.getOrDefault(key, 0L) + i.weight();
        now.put(key, w);
        total += i.weight();
        if (w > bestWeight) {
          best = i;
          bestWeight = w;
        }
      }
      now.put(best.service() + "/" + best.id(), bestWeight - total);
      current.clear(); // instances gone since the last turn are forgotten
      current.putAll(now);
      return best;
    }
  }

  /**
   * The channel to an instance's address on the calling network thread. No keepalive: servers refuse
   * pings more often than every 5 minutes by default and would end the connection (the calls'
   * deadlines and the instances' removal from the registry find dead instances instead).
   */
  private ManagedChannel channelTo(ServiceInstance instance) {
    if (closed) {
      throw new IllegalStateException("the proxy of broker " + brokerId + " is closed");
    }
    int loop = loops.current();
    if (loop < 0) { // not on a network thread (none of the proxy's callbacks runs elsewhere): any will do
      loop = java.util.concurrent.ThreadLocalRandom.current().nextInt(loops.size());
    }
    return channels.computeIfAbsent(new HostAndPort(instance.host(), instance.port()), AddressChannels::new).on(loop);
  }

  /** The channels to one address, one per network thread, each made when a call on its thread first needs it. */
  private final class AddressChannels {
    private final HostAndPort address;
    private final AtomicReferenceArray<ManagedChannel> byLoop = new AtomicReferenceArray<>(loops.size());
    /** Set by {@link #shutdown} before it looks at the slots: a channel made after that shuts itself down. */
    private volatile boolean retired;

    AddressChannels(HostAndPort address) {
      this.address = address;
    }

    ManagedChannel on(int loop) {
      ManagedChannel c = byLoop.get(loop);
      if (c != null) {
        return c;
      }
      ManagedChannel made = NettyChannelBuilder.forAddress(address.host(), address.port()).eventLoopGroup(loops.loop(loop))
          .channelType(loops.clientChannelType()).usePlaintext().directExecutor().flowControlWindow(FLOW_CONTROL_WINDOW)
          .perRpcBufferLimit(RETRY_BUFFER_PER_CALL).retryBufferSize(Math.max(RETRY_BUFFER_PER_CALL, RETRY_BUFFER_PER_ADDRESS / loops.size()))
          .build();
      if (!byLoop.compareAndSet(loop, null, made)) {
        made.shutdownNow();
        return byLoop.get(loop);
      }
      if (retired || closed) { // shutdown() or close() may have passed this slot already: shut, the channel refuses the call (UNAVAILABLE,
        made.shutdown();         // unsent, so it is retried on another instance)
      }
      return made;
    }

    /** {@code now}: cancels their calls; else lets them finish. */
    void shutdown(boolean now) {
      retired = true;
      for (int i = 0; i < byLoop.length(); i++) {
        ManagedChannel c = byLoop.get(i);
        if (c != null) {
          if (now) {
            c.shutdownNow();
          } else {
            c.shutdown();
          }
        }
      }
    }
  }

  /** On the apply thread: after a change of instances, the channels are looked over soon, off this thread. */
  private void onChange(RegistryEvent event) {
    boolean instancesChanged = event.instance() != null || event.type() == RegistryEvent.Type.STATE_RESTORED;
    if (instancesChanged && (!channels.isEmpty() || !addressUsers.isEmpty()) && reconcilePending.compareAndSet(false, true)) {
      try {
        reconciler.schedule(this::reconcile, 100, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        reconcilePending.set(false); // closed
      }
    }
  }

  /** Shuts down (letting their calls finish) the channels to addresses no instance of the registry has any more. */
  private void reconcile() {
    reconcilePending.set(false);
    Set<HostAndPort> used = new java.util.HashSet<>();
    Set<String> instances = new java.util.HashSet<>();
    for (ServiceInstance i : registry.state().allInstances()) {
      used.add(new HostAndPort(i.host(), i.port()));
      instances.add(i.service() + "/" + i.id());
    }
    health.entrySet().removeIf(e -> !instances.contains(e.getKey()) && e.getValue().inFlight.get() == 0);
    for (java.util.function.Consumer<Set<HostAndPort>> user : addressUsers) {
      try {
        user.accept(used);
      } catch (RuntimeException e) { // a periodic task that throws is never run again
        log.warn("Broker {}: closing the proxy port's connections to addresses gone failed", brokerId, e);
      }
    }
    for (HostAndPort address : List.copyOf(channels.keySet())) {
      if (!used.contains(address)) {
        AddressChannels c = channels.remove(address);
        if (c != null) {
          c.shutdown(false);
        }
      }
    }
  }

  /**
   * Once a second: when the calls stalled for at least {@code stallAge} count for more than
   * {@code stalledBytes}, those stalled longest end (RESOURCE_EXHAUSTED) until they no longer do.
   * Flow control bounds each call; this bounds what callers that stop reading, by bug or on purpose,
   * make the broker hold in all.
   */
  private void endStalledBeyondLimit() {
    try {
      long limit = config.stalledBytesOrDefault();
      long now = System.nanoTime();
      long age = config.stallAge().toNanos();
      record Stall(Carried call, long since) {}
      List<Stall> old = new ArrayList<>();
      int stalledNow = 0;
      for (Carried c : open) {
        long since = c.stalledSince(); // read once: the call's threads change it meanwhile
        if (since != 0) {
          stalledNow++;
          if (now - since >= age) {
            old.add(new Stall(c, since));
          }
        }
      }
      if (stalledNow * STALLED_CALL_BYTES <= limit) {
        return;
      }
      old.sort(Comparator.comparingLong(Stall::since));
      long keep = limit / STALLED_CALL_BYTES;
      int ended = 0;
      for (int i = 0; i < old.size() - keep; i++) {
        ended += old.get(i).call().endStalled(old.get(i).since(), now, limit) ? 1 : 0;
      }
      if (ended > 0) {
        log.warn("Broker {} ended {} proxied calls stalled for {} or more: stalled calls held more than ProxyConfig stalledBytes ({} MiB)",
            brokerId, ended, io.linkbridge.Durations.format(config.stallAge()), limit >> 20);
      }
    } catch (RuntimeException e) { // a periodic task that throws is never run again
      log.warn("Broker {}: checking stalled proxied calls failed", brokerId, e);
    }
  }

  /** What a call ended by the stall bound is answered; {@code callerDoesNotRead}: the caller is the side that did not read. */
  Status stalledStatus(boolean callerDoesNotRead, long stalledNanos, long limit) {
    String who = callerDoesNotRead ? "the caller has not read" : "the instance has not taken";
    return Status.RESOURCE_EXHAUSTED.withDescription("broker " + brokerId + " ends this call: " + who + " its last message for "
        + TimeUnit.NANOSECONDS.toSeconds(stalledNanos) + " s, and stalled proxied calls would hold more than the broker allows"
        + " (ProxyConfig stalledBytes " + (limit >> 20) + " MiB, at " + (STALLED_CALL_BYTES >> 20) + " MiB a call): read the stream as"
        + " it comes, or call again");
  }

  @Override
  public void close() {
    closed = true;
    try {
      subscription.close();
    } catch (Exception e) {
      log.debug("Broker {}: closing the proxy's registry subscription failed", brokerId, e);
    }
    routes.close();
    reconciler.shutdownNow();
    Status leaving = Status.UNAVAILABLE.withDescription("broker " + brokerId + " is shutting down: call again through another broker");
    for (Carried call : List.copyOf(open)) {
      try {
        call.abort(leaving);
      } catch (RuntimeException e) {
        log.warn("Broker {}: ending proxied call {} failed", brokerId, call, e);
      }
    }
    for (HostAndPort address : List.copyOf(channels.keySet())) {
      AddressChannels c = channels.remove(address);
      if (c != null) {
        c.shutdown(true);
      }
    }
  }

  /**
   * One call passed between the caller ({@code in}) and an instance ({@code out}). Every callback of
   * either side runs under {@code this}, so neither call is used by two threads at once. A call that
   * ends UNAVAILABLE before its headers were ever written to a connection (the instance's address
   * refused it, or its channel could not connect) never reached the instance: it goes once to
   * another instance, with what the caller sent meanwhile (held here until the call went out, at
   * most {@value #RETRY_MESSAGES} messages of {@value #RETRY_BYTES} bytes in all). Nothing else is
   * retried: once the call went out, the instance may have acted on it. Each attempt counts in its
   * instance's calls in flight and, once ended, towards its ejection; the call counts in the proxy's
   * calls carried and its service's stats until it ends.
   */
  private final class ProxiedCall implements Carried {
    static final int RETRY_MESSAGES = 16;
    static final int RETRY_BYTES = 1024 * 1024;

    private final ServerCall<byte[], byte[]> in;
    private final Metadata headers;
    private final ServiceStats serviceStats;
    private final long started;
    private final java.util.function.Function<ServiceInstance, ServiceInstance> another;
    private final java.util.function.BiFunction<ServiceInstance, AtomicBoolean, ClientCall<byte[], byte[]>> calls;
    private ClientCall<byte[], byte[]> out;
    /** Set once the current call's headers were written to a connection. */
    private AtomicBoolean wentOut;
    private ServiceInstance target;
    /** The current attempt's instance health, until the attempt ended. */
    private InstanceHealth attempt;
    /** What the caller sent, kept for a retry until the call went out; null from then on, or once it is too much. */
    private List<byte[]> sent = new ArrayList<>();
    private long sentBytes;
    private boolean halfClosed;
    private boolean retried;
    /** The caller sent a message the instance's stream could not take yet: ask the caller for more once it can. */
    private boolean callerWaits;
    /** The instance sent a message the caller's stream could not take yet. */
    private boolean instanceWaits;
    /** When one side began to wait (callerWaits or instanceWaits), 0 while neither does; written under this. */
    private volatile long stalledSince;
    private boolean released;
    private boolean closed;

    ProxiedCall(ServerCall<byte[], byte[]> in, Metadata headers, ServiceStats serviceStats, long started,
        java.util.function.Function<ServiceInstance, ServiceInstance> another,
        java.util.function.BiFunction<ServiceInstance, AtomicBoolean, ClientCall<byte[], byte[]>> calls) {
      this.in = in;
      this.headers = headers;
      this.serviceStats = serviceStats;
      this.started = started;
      this.another = another;
      this.calls = calls;
    }

    ServerCall.Listener<byte[]> start(ServiceInstance first) {
      serviceStats.inFlight.incrementAndGet();
      ServerCall.Listener<byte[]> listener = callerListener();
      synchronized (this) {
        open.add(this);
        try {
          open(first);
        } catch (RuntimeException e) { // the proxy closed meanwhile, or no channel could be built
          end(Status.UNAVAILABLE.withDescription("broker " + brokerId + " could not call an instance: " + e.getMessage()), new Metadata());
          return listener;
        }
        in.request(1);
      }
      return listener;
    }

    /**
     * Under this: the call leaves the proxy's count of calls carried ({@code maxCalls}), once its
     * stream to the caller is done (its trailers sent, or it was cancelled), not when the instance
     * answered: until then the broker holds what the caller has not read yet.
     */
    private void release() {
      if (!released) {
        released = true;
        carried.decrementAndGet();
      }
    }

    private ServerCall.Listener<byte[]> callerListener() {
      return new ServerCall.Listener<>() {
        @Override
        public void onComplete() {
          synchronized (ProxiedCall.this) {
            release();
          }
        }

        @Override
        public void onMessage(byte[] message) {
          synchronized (ProxiedCall.this) {
            if (closed) {
              return;
            }
            if (sent != null && wentOut.get()) {
              sent = null; // on its way to the instance: never sent again
            }
            if (sent != null) {
              sentBytes += message.length;
              if (sent.size() < RETRY_MESSAGES && sentBytes <= RETRY_BYTES) {
                sent.add(message);
              } else {
                sent = null; // too much to hold: this call is not retried
              }
            }
            out.sendMessage(message);
            if (out.isReady()) {
              in.request(1);
            } else {
              callerWaits = true;
              noteStall();
            }
          }
        }

        @Override
        public void onHalfClose() {
          synchronized (ProxiedCall.this) {
            if (!closed) {
              halfClosed = true;
              callerWaits = false; // nothing more comes from the caller (and a half-closed call to the instance is never ready again)
              noteStall();
              out.halfClose();
            }
          }
        }

        @Override
        public void onCancel() {
          synchronized (ProxiedCall.this) {
            release();
            if (closed) {
              return;
            }
            endAttempt(Status.CANCELLED, true);
            finish(Status.CANCELLED);
            out.cancel("the caller cancelled the call, or its deadline passed", null); // its onClose finds the call closed
          }
        }

        @Override
        public void onReady() {
          synchronized (ProxiedCall.this) {
            if (!closed && instanceWaits && in.isReady()) {
              instanceWaits = false;
              noteStall();
              out.request(1);
            }
          }
        }
      };
    }

    /** Under this: starts the call to {@code instance}, replaying what the caller sent so far (on a retry). */
    private void open(ServiceInstance instance) {
      target = instance;
      attempt = healthOf(instance); // pick() took one of its slots for this attempt
      AtomicBoolean attemptWentOut = new AtomicBoolean();
      wentOut = attemptWentOut;
      ClientCall<byte[], byte[]> call = calls.apply(instance, attemptWentOut);
      out = call;
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onHeaders(Metadata responseHeaders) {
          synchronized (ProxiedCall.this) {
            if (!closed && out == call) {
              sent = null;
              in.sendHeaders(responseHeaders);
            }
          }
        }

        @Override
        public void onMessage(byte[] message) {
          synchronized (ProxiedCall.this) {
            if (closed || out != call) {
              return;
            }
            in.sendMessage(message);
            if (in.isReady()) {
              call.request(1);
            } else {
              instanceWaits = true;
              noteStall();
            }
          }
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          synchronized (ProxiedCall.this) {
            if (closed || out != call) {
              return;
            }
            ServiceInstance failed = target;
            endAttempt(status, attemptWentOut.get());
            if (status.getCode() == Status.Code.UNAVAILABLE && !attemptWentOut.get() && sent != null && !retried) {
              try {
                ServiceInstance next = another.apply(failed);
                if (next != null) {
                  retried = true;
                  log.debug("Call {} to {}/{} never reached it ({}); trying {}/{}", in.getMethodDescriptor().getFullMethodName(),
                      failed.service(), failed.id(), status, next.service(), next.id());
                  open(next);
                  return;
                }
              } catch (RuntimeException e) { // the proxy closed meanwhile, or a channel could not be built: the caller gets the failure
                log.debug("Call {}: no retry ({})", in.getMethodDescriptor().getFullMethodName(), e.toString());
              }
            }
            end(status, trailers);
          }
        }

        @Override
        public void onReady() {
          synchronized (ProxiedCall.this) {
            if (!closed && callerWaits && out == call && call.isReady()) {
              callerWaits = false;
              noteStall();
              in.request(1);
            }
          }
        }
      }, copy(headers));
      call.request(1);
      if (sent != null) {
        sent.forEach(call::sendMessage);
      }
      if (halfClosed) {
        call.halfClose();
      }
    }

    /** Under this: the current attempt ended with {@code status} ({@code reached}: its headers went out), once. */
    private void endAttempt(Status status, boolean reached) {
      if (attempt != null) {
        attempt.inFlight.decrementAndGet();
        attempt.ended(target, status, reached);
        attempt = null;
      }
    }

    /** Under this: the call ended for the caller, once. */
    private void finish(Status status) {
      if (closed) {
        return;
      }
      closed = true;
      open.remove(this);
      serviceStats.inFlight.decrementAndGet();
      serviceStats.ended(started, status);
    }

    /** Under this: answers the caller with {@code status} and ends the call. */
    private void end(Status status, Metadata trailers) {
      endAttempt(status, wentOut != null && wentOut.get());
      finish(status);
      try {
        in.close(status, trailers);
      } catch (IllegalStateException e) {
        // the caller's call ended first (cancelled): nothing to answer
      }
    }

    /** Under this: after callerWaits or instanceWaits changed. */
    private void noteStall() {
      boolean waits = callerWaits || instanceWaits;
      if (waits && stalledSince == 0) {
        stalledSince = System.nanoTime() | 1; // never 0
      } else if (!waits && stalledSince != 0) {
        stalledSince = 0;
      }
    }

    @Override
    public long stalledSince() {
      return stalledSince;
    }

    @Override
    public synchronized boolean endStalled(long since, long now, long limit) {
      if (closed || stalledSince != since) {
        return false; // ended, or it took the message meanwhile
      }
      Status status = stalledStatus(instanceWaits, now - since, limit);
      log.debug("Broker {}: proxied call {} ended: {}", brokerId, this, status.getDescription());
      abort(status); // frees what the instance's side held; the caller gets the status after what it has not read yet
      return true;
    }

    @Override
    public synchronized void abort(Status status) {
      if (closed) {
        return;
      }
      endAttempt(Status.CANCELLED, true); // says nothing of the instance
      finish(status);
      try {
        in.close(status, new Metadata());
      } catch (IllegalStateException e) {
        // ended meanwhile
      }
      if (out != null) {
        out.cancel(status.getDescription(), null);
      }
    }

    private static Metadata copy(Metadata headers) {
      Metadata m = new Metadata();
      m.merge(headers);
      return m;
    }

    @Override
    public synchronized String toString() {
      return "ProxiedCall{" + in.getMethodDescriptor().getFullMethodName() + " -> " + (target == null ? "-" : target.service() + "/"
          + target.id()) + "}";
    }
  }
}
