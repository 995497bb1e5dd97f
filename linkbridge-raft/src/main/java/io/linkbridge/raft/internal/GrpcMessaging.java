package io.linkbridge.raft.internal;

import io.atomix.cluster.MemberId;
import io.atomix.cluster.messaging.ClusterCommunicationService;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.linkbridge.HostAndPort;
import io.linkbridge.LinkBridgeException;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Atomix's {@link ClusterCommunicationService} over gRPC: each member keeps one bidirectional stream
 * to every peer, and every Raft message is a frame {@code (id, subject, sender, payload)} on it,
 * answered by a reply frame with the same id.
 *
 * <p>Errors are mapped the way Atomix retries them: an unreachable member (or one with no handler for
 * the subject yet) is a {@link ConnectException}, an expired deadline a {@link TimeoutException}, and
 * a handler that failed on a reachable member a {@link RemoteRaftFailure} (Atomix's
 * {@code RemoteHandlerFailure}) with the peer's message. Any other method on the Raft port is
 * answered by {@link WrongPortAnswer}. The server dispatches on
 * the transport thread, so messages from one member reach their handler in the order they were sent.
 */
final class GrpcMessaging implements ClusterCommunicationService {
  private static final Logger log = LoggerFactory.getLogger(GrpcMessaging.class);
  /** Atomix's membership-change requests: membership is static, so no member may ever send them. */
  private static final Set<String> MEMBERSHIP_CHANGES = Set.of("raft-join", "raft-leave", "raft-reconfigure");
  private static final Context.Key<SocketAddress> REMOTE = Context.key("linkbridge-raft-remote");

  private final MemberId localId;
  private final String clusterId;
  private final RateLimitedLog refusals = new RateLimitedLog(10, TimeUnit.SECONDS);
  private final TransportFaults faults = new TransportFaults();
  private final HostAndPort bindAddress;
  private final WrongPortAnswer wrongPort;
  private final Map<MemberId, HostAndPort> addresses;
  private final Duration defaultTimeout;
  private final RaftMessageInterceptor interceptor;
  private final Map<String, BiFunction<MemberId, byte[], CompletableFuture<byte[]>>> handlers = new ConcurrentHashMap<>();
  private final Map<MemberId, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Map<MemberId, PeerStream> streams = new ConcurrentHashMap<>();
  private final AtomicLong nextId = new AtomicLong();
  private final ScheduledExecutorService timeouts;
  private final Map<MemberId, CompletableFuture<Void>> sendOrder = new HashMap<>(); // guarded by itself
  private final ExecutorService callbackExecutor;
  /** Per peer: when it last answered a request (System.nanoTime), and the last failure of a request to it. */
  private final Map<MemberId, Long> lastAnswer = new ConcurrentHashMap<>();
  private final Map<MemberId, String> lastFailure = new ConcurrentHashMap<>();
  private volatile Server server;
  private boolean closed; // guarded by channels

  /** @param apiAddress where this broker serves agents and clients (null: nowhere), named to a call that comes here by mistake */
  GrpcMessaging(MemberId localId, String clusterId, HostAndPort bindAddress, HostAndPort apiAddress, Map<MemberId, HostAndPort> addresses,
      Duration defaultTimeout, RaftMessageInterceptor interceptor) {
    this.localId = localId;
    this.wrongPort = new WrongPortAnswer(localId.id(), bindAddress, apiAddress);
    this.clusterId = clusterId;
    this.interceptor = interceptor;
    this.bindAddress = bindAddress;
    this.addresses = Map.copyOf(addresses);
    this.defaultTimeout = defaultTimeout;
    this.timeouts = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "linkbridge-raft-timeouts-" + localId.id());
      t.setDaemon(true);
      return t;
    });
    this.callbackExecutor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "linkbridge-raft-transport-" + localId.id());
      t.setDaemon(true);
      return t;
    });
  }

  /** Binds the server; throws {@link LinkBridgeException} naming the address when it cannot. */
  void start() {
    ServerServiceDefinition service = ServerServiceDefinition.builder(RaftFrames.SERVICE)
        .addMethod(RaftFrames.EXCHANGE, ServerCalls.asyncBidiStreamingCall(this::accept))
        .build();
    try {
      server = NettyServerBuilder.forAddress(new InetSocketAddress(bindAddress.host(), bindAddress.port()))
          .directExecutor()
          .maxInboundMessageSize(Integer.MAX_VALUE)
          .fallbackHandlerRegistry(wrongPort)
          .addService(ServerInterceptors.intercept(service, new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
              Context context = Context.current().withValue(REMOTE, call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
              return Contexts.interceptCall(context, call, headers, next);
            }
          }))
          .build()
          .start();
    } catch (IOException e) {
      throw new LinkBridgeException("cannot bind the Raft transport to " + bindAddress + ": " + e.getMessage()
          + "; pick a free raftAddress or stop the process using it", e);
    }
  }

  /** Stops the server and every channel at once; idempotent. */
  void stop() {
    synchronized (channels) {
      closed = true;
    }
    Server s = server;
    server = null;
    if (s != null) {
      s.shutdownNow();
    }
    streams.values().forEach(PeerStream::close);
    streams.clear();
    timeouts.shutdownNow();
    List<ManagedChannel> open = new ArrayList<>(channels.values());
    channels.clear();
    open.forEach(ManagedChannel::shutdownNow);
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      if (s != null) {
        s.awaitTermination(5, TimeUnit.SECONDS);
      }
      for (ManagedChannel c : open) {
        c.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // Only now: cancelled calls still deliver their close callbacks to this executor.
    callbackExecutor.shutdown();
  }

  // ---- receiving -----------------------------------------------------------------------------

  /** One inbound stream from a peer: requests in, replies out, in any order, matched by id. */
  private StreamObserver<byte[]> accept(StreamObserver<byte[]> replies) {
    SocketAddress remote = REMOTE.get();
    return new StreamObserver<>() {
      @Override
      public void onNext(byte[] frame) {
        faults.deliver(() -> receive(frame, replies, remote)); // a test's hold queues it, in order
      }

      @Override
      public void onError(Throwable t) {
        // the peer went away; its pending requests fail on its side
      }

      @Override
      public void onCompleted() {
        synchronized (replies) {
          replies.onCompleted();
        }
      }
    };
  }

  private void receive(byte[] frame, StreamObserver<byte[]> replies, SocketAddress remote) {
    long id;
    String cluster;
    String subject;
    MemberId from;
    byte[] payload;
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(frame))) {
      byte type = in.readByte();
      if (type == RaftFrames.REQUEST_WITHOUT_CLUSTER) {
        refuse(replies, in.readLong(), remote, "?", "a Raft message without a cluster id (a Link Bridge broker of an older version?)");
        return;
      }
      if (type != RaftFrames.REQUEST) {
        return;
      }
      id = in.readLong();
      cluster = in.readUTF();
      subject = in.readUTF();
      from = MemberId.from(in.readUTF());
      payload = in.readAllBytes();
    } catch (IOException e) {
      return; // not a frame of ours: nothing to answer
    }
    String refusal = !cluster.equals(clusterId)
        ? "cluster '" + cluster + "' is not this broker's cluster '" + clusterId + "': the sender was started with another member list or clusterName"
        : !addresses.containsKey(from) // this member's own Raft client talks to its server through here too
        ? "member '" + from.id() + "' is not one of this cluster's members " + addresses.keySet().stream().map(MemberId::id).sorted().toList()
        : MEMBERSHIP_CHANGES.contains(subject)
        ? "membership is static: '" + subject + "' from '" + from.id() + "' is refused; change the member list of every broker instead"
        : null;
    if (refusal != null) {
      refuse(replies, id, remote, from.id(), refusal);
      return;
    }
    if (faults.isCutOff(from)) {
      return; // a test's partition: the sender times out, as across a cut cable
    }
    BiFunction<MemberId, byte[], CompletableFuture<byte[]>> handler = handlers.get(subject);
    CompletableFuture<byte[]> result;
    if (handler == null) { // starting or stopping: the sender tries again or elsewhere, as for a member not listening yet
      answer(replies, RaftFrames.reply(RaftFrames.NO_HANDLER, id, (subject + " has no handler on " + localId.id() + " (starting or stopping)")
          .getBytes(StandardCharsets.UTF_8)));
      return;
    } else {
      try {
        result = handler.apply(from, payload);
      } catch (RuntimeException e) {
        result = CompletableFuture.failedFuture(e);
      }
    }
    result.whenComplete((bytes, error) -> answer(replies, error != null
        ? RaftFrames.reply(RaftFrames.ERROR, id, String.valueOf(error).getBytes(StandardCharsets.UTF_8))
        : RaftFrames.reply(RaftFrames.REPLY, id, bytes == null ? new byte[0] : bytes)));
  }

  private static void answer(StreamObserver<byte[]> replies, byte[] reply) {
    synchronized (replies) {
      try {
        replies.onNext(reply);
      } catch (RuntimeException e) {
        // the stream closed meanwhile: the peer times the request out
      }
    }
  }

  /** Answers a request this member will not handle, and says so in the log (once per sender and reason every 10 s). */
  private void refuse(StreamObserver<byte[]> replies, long id, SocketAddress remote, String sender, String reason) {
    refusals.warn(remote + "/" + sender + ":" + reason, () -> log.warn("Broker {} refused Raft messages from {} (claims member '{}'): {}",
        localId.id(), remote, sender, reason));
    synchronized (replies) {
      try {
        replies.onNext(RaftFrames.reply(RaftFrames.REFUSED, id, reason.getBytes(StandardCharsets.UTF_8)));
      } catch (RuntimeException e) {
        // the stream closed meanwhile
      }
    }
  }

  @Override
  public <M, R> CompletableFuture<Void> subscribe(String subject, Function<byte[], M> decoder, Function<M, R> handler,
      Function<R, byte[]> encoder, Executor executor) {
    handlers.put(subject, (from, payload) -> {
      M request = decoder.apply(payload);
      R answer = answerInstead(request);
      return (answer != null ? CompletableFuture.completedFuture(answer) : CompletableFuture.supplyAsync(() -> handler.apply(request), executor))
          .thenCompose(interceptor::beforeReply).thenApply(encoder);
    });
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public <M, R> CompletableFuture<Void> subscribe(String subject, Function<byte[], M> decoder, Function<M, CompletableFuture<R>> handler,
      Function<R, byte[]> encoder) {
    handlers.put(subject, (from, payload) -> {
      M request = decoder.apply(payload);
      R answer = answerInstead(request);
      return (answer != null ? CompletableFuture.completedFuture(answer) : handler.apply(request))
          .thenCompose(interceptor::beforeReply).thenApply(encoder);
    });
    return CompletableFuture.completedFuture(null);
  }

  @SuppressWarnings("unchecked")
  private <M, R> R answerInstead(M request) {
    return (R) interceptor.answerInstead(request);
  }

  @Override
  public <M> CompletableFuture<Void> subscribe(String subject, Function<byte[], M> decoder, Consumer<M> handler, Executor executor) {
    handlers.put(subject, (from, payload) -> {
      M message = decoder.apply(payload);
      executor.execute(() -> handler.accept(message));
      return CompletableFuture.completedFuture(new byte[0]);
    });
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public <M> CompletableFuture<Void> subscribe(String subject, Function<byte[], M> decoder, BiConsumer<MemberId, M> handler, Executor executor) {
    handlers.put(subject, (from, payload) -> {
      M message = decoder.apply(payload);
      executor.execute(() -> handler.accept(from, message));
      return CompletableFuture.completedFuture(new byte[0]);
    });
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public void unsubscribe(String subject) {
    handlers.remove(subject);
  }

  // ---- sending -------------------------------------------------------------------------------

  @Override
  public <M, R> CompletableFuture<R> send(String subject, M message, Function<M, byte[]> encoder, Function<byte[], R> decoder,
      MemberId toMemberId, Duration timeout) {
    if (MEMBERSHIP_CHANGES.contains(subject)) {
      // Atomix's bootstrap asks the other members to add this one, every 2 x electionTimeout for the server's life (its join
      // completes only on a member's OK). Membership is static (every member lists all) and every member refuses such requests:
      // they are answered here, so a healthy cluster logs no refusal.
      return CompletableFuture.failedFuture(new IllegalStateException("membership is static: " + subject + " is not sent"));
    }
    byte[] payload;
    try {
      payload = encoder.apply(message);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    Duration deadline = timeout == null ? defaultTimeout : timeout;
    CompletableFuture<byte[]> reply = new CompletableFuture<>();
    // Calls to one member start in the order they were sent, even when an append waits for a force.
    synchronized (sendOrder) {
      CompletableFuture<Void> ready = interceptor.beforeSend(message);
      CompletableFuture<Void> previous = sendOrder.get(toMemberId);
      if (previous != null && !previous.isDone()) {
        ready = previous.thenCombine(ready, (a, b) -> null);
      }
      CompletableFuture<Void> started = ready.handle((v, error) -> {
        if (error != null) {
          reply.completeExceptionally(error);
        } else {
          call(subject, payload, toMemberId, deadline).whenComplete((bytes, e) -> {
            if (e != null) {
              reply.completeExceptionally(e);
            } else {
              reply.complete(bytes);
            }
          });
        }
        return null;
      });
      sendOrder.put(toMemberId, started);
    }
    return reply.thenApply(decoder);
  }

  @Override
  public <M> CompletableFuture<Void> unicast(String subject, M message, Function<M, byte[]> encoder, MemberId toMemberId, boolean reliable) {
    return call(subject, encoder.apply(message), toMemberId, defaultTimeout).thenApply(r -> null);
  }

  @Override
  public <M> void multicast(String subject, M message, Function<M, byte[]> encoder, Set<MemberId> memberIds, boolean reliable) {
    byte[] payload = encoder.apply(message);
    for (MemberId id : memberIds) {
      call(subject, payload, id, defaultTimeout);
    }
  }

  @Override
  public <M> void broadcast(String subject, M message, Function<M, byte[]> encoder, boolean reliable) {
    multicast(subject, message, encoder, addresses.keySet().stream().filter(id -> !id.equals(localId)).collect(Collectors.toSet()), reliable);
  }

  @Override
  public <M> void broadcastIncludeSelf(String subject, M message, Function<M, byte[]> encoder, boolean reliable) {
    multicast(subject, message, encoder, addresses.keySet(), reliable);
  }

  /** The fault seam for tests. */
  TransportFaults faults() {
    return faults;
  }

  private CompletableFuture<byte[]> call(String subject, byte[] payload, MemberId to, Duration timeout) {
    if (faults.isCutOff(to)) {
      return CompletableFuture.failedFuture(new ConnectException(subject + " to " + to + ": cut off (a test's partition)"));
    }
    if (!faults.delaysOrHolds()) {
      return send(subject, payload, to, timeout);
    }
    CompletableFuture<byte[]> sent = new CompletableFuture<>();
    faults.deliver(() -> faults.afterDelay().thenCompose(v -> send(subject, payload, to, timeout)).whenComplete((r, e) -> {
      if (e != null) {
        sent.completeExceptionally(e);
      } else {
        sent.complete(r);
      }
    }));
    return sent;
  }

  private CompletableFuture<byte[]> send(String subject, byte[] payload, MemberId to, Duration timeout) {
    PeerStream stream;
    try {
      stream = stream(to);
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(new ConnectException(e.getMessage()));
    }
    return stream.request(subject, payload, timeout).whenComplete((r, e) -> {
      if (e == null || e instanceof RemoteRaftFailure) {
        lastAnswer.put(to, System.nanoTime()); // it answered, even if its handler failed
      } else {
        lastFailure.put(to, e.toString());
      }
    });
  }

  /**
   * The other members that answered no request in the last {@code window}, each as
   * {@code id at host:port (last failure)}, in member order: for a WARN when this member cannot reach
   * the cluster.
   */
  List<String> silentPeers(Duration window) {
    long now = System.nanoTime();
    List<String> out = new ArrayList<>();
    for (Map.Entry<MemberId, HostAndPort> peer : addresses.entrySet()) {
      MemberId id = peer.getKey();
      Long answered = lastAnswer.get(id);
      if (id.equals(localId) || (answered != null && now - answered < window.toNanos())) {
        continue;
      }
      String failure = lastFailure.get(id);
      out.add(id.id() + " at " + peer.getValue() + (failure == null ? " (no request answered)" : " (" + failure + ")"));
    }
    return out;
  }

  private PeerStream stream(MemberId to) {
    PeerStream s = streams.get(to);
    if (s != null && !s.isBroken()) {
      return s;
    }
    ManagedChannel channel = channel(to);
    synchronized (streams) {
      s = streams.get(to);
      if (s == null || s.isBroken()) {
        s = new PeerStream(localId, clusterId, to, channel, nextId, timeouts, refusals);
        streams.put(to, s);
      }
      return s;
    }
  }

  private ManagedChannel channel(MemberId to) {
    ManagedChannel open = channels.get(to);
    if (open != null) {
      return open;
    }
    synchronized (channels) {
      if (closed) {
        throw new IllegalArgumentException("Raft transport of " + localId + " is stopped");
      }
      return openChannel(to);
    }
  }

  private ManagedChannel openChannel(MemberId to) {
    return channels.computeIfAbsent(to, id -> {
      HostAndPort address = addresses.get(id);
      if (address == null) {
        throw new IllegalArgumentException("unknown cluster member " + id);
      }
      return NettyChannelBuilder.forAddress(address.host(), address.port())
          .usePlaintext()
          .executor(callbackExecutor)
          .maxInboundMessageSize(Integer.MAX_VALUE)
          .build();
    });
  }



}
