package io.linkbridge.grpc.internal;

import io.grpc.Status;
import io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap;
import io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelFuture;
import io.grpc.netty.shaded.io.netty.channel.ChannelFutureListener;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.netty.shaded.io.netty.channel.group.ChannelGroup;
import io.grpc.netty.shaded.io.netty.channel.group.DefaultChannelGroup;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2LocalFlowController;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2CodecUtil;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Connection;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Error;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Exception;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2FrameAdapter;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Headers;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2RemoteFlowController;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Settings;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Stream;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import io.grpc.netty.shaded.io.netty.util.collection.IntObjectHashMap;
import io.grpc.netty.shaded.io.netty.util.concurrent.GlobalEventExecutor;
import io.linkbridge.HostAndPort;
import io.linkbridge.ServiceInstance;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data path of the dedicated proxy port: a proxied call's HTTP/2 frames are passed on between
 * the caller's connection and the instance's, not re-made as two grpc-java calls. Messages are never
 * deframed (a DATA frame goes on as it came, or as the peer's window lets it), headers are decoded
 * and encoded once per hop, and everything of a call runs on the network thread of its caller's
 * connection, which also carries its connection to the instance.
 *
 * <p>What the frame path carries is exactly what {@link ServiceProxy} would carry the same way, with
 * the same choice of instance, limits, ejection, counts and stall bound (it shares them). Any call
 * it would have to answer itself, or treat specially, it hands to {@link ServiceProxy} instead,
 * unchanged, over a loopback connection to the grpc-java server that used to serve this port (the
 * <em>fallback</em>): {@code grpc.health.v1.Health} (answered for the routed services), a call that
 * cannot be routed (its answer names why), a compressed request (decompressed there, as documented),
 * a request that is not gRPC, and any call while the broker does not carry calls.
 *
 * <p>Per call and direction the broker holds at most the HTTP/2 window of the receiving side
 * ({@link ServiceProxy#FLOW_CONTROL_WINDOW}): a DATA frame's bytes are given back to its sender only
 * once the other connection wrote them, so a slow reader slows its writer, end to end. The request's
 * frames are also kept (up to {@link ServiceProxy#RETRY_BUFFER_PER_CALL}) until the instance's first
 * response headers, so that a call the instance provably never saw (its connection failed, the stream
 * was refused, or was above its GOAWAY) goes once to another instance, as grpc-java's transparent
 * retry does.
 */
final class FrameProxy {
  private static final Logger log = LoggerFactory.getLogger(FrameProxy.class);
  private static final AsciiString GRPC_TIMEOUT = AsciiString.cached("grpc-timeout");
  private static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
  private static final AsciiString GRPC_MESSAGE = AsciiString.cached("grpc-message");
  private static final AsciiString GRPC_ENCODING = AsciiString.cached("grpc-encoding");
  private static final AsciiString CONTENT_TYPE = AsciiString.cached("content-type");
  private static final AsciiString APPLICATION_GRPC = AsciiString.cached("application/grpc");
  private static final AsciiString SERVICE_HEADER = AsciiString.cached("linkbridge-service");
  private static final AsciiString POST = AsciiString.cached("POST");
  private static final AsciiString HTTP = AsciiString.cached("http");
  private static final AsciiString STATUS_200 = AsciiString.cached("200");
  private static final AsciiString IDENTITY = AsciiString.cached("identity");
  private static final String HEALTH_PREFIX = "/grpc.health.v1.Health/";
  /** grpc-java's default limit on a call's headers (and trailers): larger ones are refused at the broker. */
  static final int MAX_HEADER_LIST_SIZE = 8 * 1024;
  /**
   * The connection-level window both ways. Bytes are given back to a connection at once (memory is
   * bounded by each stream's window, not by this), so this only keeps a long, fast link busy.
   */
  private static final int CONNECTION_WINDOW = 16 << 20;
  /** How long connecting to an instance may take before the call is failed UNAVAILABLE (grpc-java's default). */
  private static final int CONNECT_TIMEOUT_MILLIS = 20_000;

  private final String brokerId;
  private final ServiceProxy proxy;
  private final EventLoops loops;
  private final HostAndPort address;
  private final InetSocketAddress fallback;
  /** The connections to each instance address, one per network thread, each made when a call on that thread needs it. */
  private final Map<HostAndPort, AtomicReferenceArray<Upstream>> upstreams = new ConcurrentHashMap<>();
  private final AtomicReferenceArray<Upstream> fallbacks;
  private final ChannelGroup callers = new DefaultChannelGroup("linkbridge-proxy-callers", GlobalEventExecutor.INSTANCE);
  /** Looks up instance host names, which may block: never on a network thread. */
  private final java.util.concurrent.ExecutorService lookups;
  private volatile Channel server;
  /** No new caller connection is taken ({@link #shutdown}); the calls on those open go on, and may still need instance connections. */
  private volatile boolean stopped;
  /** Every connection was closed ({@link #shutdownNow}): none is made any more. */
  private volatile boolean closedNow;

  FrameProxy(String brokerId, ServiceProxy proxy, EventLoops loops, HostAndPort address, InetSocketAddress fallback) {
    this.brokerId = brokerId;
    this.proxy = proxy;
    this.loops = loops;
    this.address = address;
    this.fallback = fallback;
    this.fallbacks = new AtomicReferenceArray<>(loops.size());
    this.lookups = java.util.concurrent.Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "linkbridge-proxy-lookup-" + brokerId);
      t.setDaemon(true);
      return t;
    });
    proxy.onAddressesInUse(this::retireUnused);
  }

  /** Binds the proxy address; throws IOException when it cannot. */
  void start() throws IOException {
    ChannelFuture bound = new ServerBootstrap().group(loops.boss(), loops.workers()).channel(loops.serverChannelType())
        .childOption(ChannelOption.TCP_NODELAY, true).childHandler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            callers.add(ch);
            if (stopped) { // accepted as the port closed, after the callers were told to go: told here
              ch.close();
              return;
            }
            ch.pipeline().addLast(new CallerBuilder().make());
          }
        }).bind(address.host(), address.port()).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      Throwable cause = bound.cause();
      throw cause instanceof IOException io ? io : new IOException(String.valueOf(cause.getMessage()), cause);
    }
    server = bound.channel();
  }

  /** Accepts no more connections; each caller's connection gets a GOAWAY and closes once its calls ended. */
  void shutdown() {
    stopped = true;
    Channel s = server;
    if (s != null) {
      s.close().awaitUninterruptibly();
    }
    callers.close(); // Http2ConnectionHandler.close: GOAWAY, then the close waits for the streams open
  }

  /** Closes every connection now, callers' and instances' (the calls were ended before, by the proxy's close). */
  void shutdownNow() {
    stopped = true;
    closedNow = true;
    Channel s = server;
    if (s != null) {
      s.close();
    }
    for (Channel c : callers) {
      c.eventLoop().execute(() -> {
        Http2ConnectionHandler h = c.pipeline().get(Http2ConnectionHandler.class);
        if (h != null) {
          h.gracefulShutdownTimeoutMillis(0);
        }
        c.close();
      });
    }
    for (AtomicReferenceArray<Upstream> a : upstreams.values()) {
      closeAll(a);
    }
    upstreams.clear();
    closeAll(fallbacks);
    lookups.shutdownNow();
  }

  private static void closeAll(AtomicReferenceArray<Upstream> all) {
    for (int i = 0; i < all.length(); i++) {
      Upstream u = all.get(i);
      if (u != null && !u.loop.isShuttingDown()) {
        u.loop.execute(u::closeNow);
      }
    }
  }

  /** Whether the port and every caller's connection closed within {@code nanos}. */
  boolean awaitTermination(long nanos) throws InterruptedException {
    long deadline = System.nanoTime() + nanos;
    Channel s = server;
    if (s != null && !s.closeFuture().await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
      return false;
    }
    for (Channel c : callers) {
      if (!c.closeFuture().await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        return false;
      }
    }
    return true;
  }

  /** On the proxy's reconciler: connections to addresses no instance has any more close, letting their calls finish. */
  private void retireUnused(Set<HostAndPort> used) {
    for (HostAndPort a : List.copyOf(upstreams.keySet())) {
      if (!used.contains(a)) {
        AtomicReferenceArray<Upstream> gone = upstreams.remove(a);
        for (int i = 0; gone != null && i < gone.length(); i++) {
          Upstream u = gone.get(i);
          if (u != null && !u.loop.isShuttingDown()) {
            u.loop.execute(u::retire);
          }
        }
      }
    }
  }

  /** On {@code loop}'s thread: the connection to {@code instance}'s address that calls on this thread use. */
  private Upstream upstreamTo(ServiceInstance instance, EventLoop loop, int index) {
    HostAndPort to = new HostAndPort(instance.host(), instance.port());
    AtomicReferenceArray<Upstream> byLoop = upstreams.computeIfAbsent(to, k -> new AtomicReferenceArray<>(loops.size()));
    Upstream u = byLoop.get(index);
    if (u == null || !u.usable()) {
      InetSocketAddress socket = isIpLiteral(to.host()) ? new InetSocketAddress(to.host(), to.port())
          : InetSocketAddress.createUnresolved(to.host(), to.port()); // looked up off this thread, by connect
      u = new Upstream(to.toString(), socket, loop);
      byLoop.set(index, u);
      u.connect();
      if (upstreams.get(to) != byLoop) {
        u.retire(); // the address left the registry meanwhile: this connection serves the calls already on their way, then closes
      }
    }
    return u;
  }

  /** Whether {@code host} is an IPv4 address in dotted decimal, or an IPv6 address: one that needs no lookup. */
  static boolean isIpLiteral(String host) {
    if (host.indexOf(':') >= 0) {
      return true; // HostAndPort allows a colon only in an IPv6 address
    }
    String[] parts = host.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String part : parts) {
      if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9') || Integer.parseInt(part) > 255) {
        return false;
      }
    }
    return true;
  }

  private Upstream fallbackOn(EventLoop loop, int index) {
    Upstream u = fallbacks.get(index);
    if (u == null || !u.usable()) {
      u = new Upstream(null, fallback, loop);
      fallbacks.set(index, u);
      u.connect();
    }
    return u;
  }

  // ---------------------------------------------------------------------------------------------
  // The two kinds of connection

  private static Http2Connection connection(boolean server) {
    Http2Connection c = new DefaultHttp2Connection(server);
    // the connection window is given back at once; each stream's only once its bytes went on
    c.local().flowController(new DefaultHttp2LocalFlowController(c, DefaultHttp2LocalFlowController.DEFAULT_WINDOW_UPDATE_RATIO, true));
    return c;
  }

  private static Http2Settings settings() {
    return new Http2Settings().initialWindowSize(ServiceProxy.FLOW_CONTROL_WINDOW).maxHeaderListSize(MAX_HEADER_LIST_SIZE);
  }

  /** A connection of ours: flushes itself once per turn of its thread however many calls wrote to it. */
  private abstract static class Connection extends Http2ConnectionHandler {
    final IntObjectHashMap<FrameCall> calls = new IntObjectHashMap<>();
    ChannelHandlerContext ctx;
    private boolean flushScheduled;
    private boolean windowSent;

    Connection(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
      super(decoder, encoder, settings);
      connection().addListener(new Http2ConnectionAdapter() {
        @Override
        public void onStreamClosed(Http2Stream stream) {
          FrameCall call = calls.remove(stream.id());
          if (call != null) {
            streamClosed(call, stream);
          }
        }
      });
    }

    abstract void streamClosed(FrameCall call, Http2Stream stream);

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
      this.ctx = ctx;
      super.handlerAdded(ctx); // sends the preface once the channel is active
      sendConnectionWindow();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      super.channelActive(ctx);
      sendConnectionWindow();
    }

    /** After the preface: the connection's window grows from HTTP/2's 64 KiB to {@link #CONNECTION_WINDOW}. */
    private void sendConnectionWindow() throws Http2Exception {
      if (!windowSent && ctx.channel().isActive()) {
        windowSent = true;
        connection().local().flowController().incrementWindowSize(connection().connectionStream(),
            CONNECTION_WINDOW - Http2CodecUtil.DEFAULT_WINDOW_SIZE);
        flush(ctx);
      }
    }

    void flushSoon() {
      if (!flushScheduled) {
        flushScheduled = true;
        ctx.executor().execute(() -> {
          flushScheduled = false;
          flush(ctx);
        });
      }
    }

    /** Gives {@code bytes} of stream {@code id} back to the peer (a WINDOW_UPDATE as the ratio is reached), if it is still open. */
    void consumed(int id, int bytes) {
      Http2Stream s = connection().stream(id);
      if (s != null && bytes > 0) {
        try {
          if (connection().local().flowController().consumeBytes(s, bytes)) {
            flushSoon();
          }
        } catch (Http2Exception e) {
          log.debug("Giving back {} bytes of stream {} failed", bytes, id, e);
        }
      }
    }

    /**
     * A received frame's bytes to pass on to stream {@code id} of this connection: the frame itself
     * when the stream takes it now, else a copy of it, so that what waits here holds no more memory
     * than its bytes (a frame keeps the whole buffer it was read into alive).
     */
    ByteBuf toPassOn(int id, ByteBuf frame) {
      Http2Stream s = connection().stream(id);
      return s != null && encoder().flowController().isWritable(s) ? frame.retain() : frame.copy();
    }

    /** Whether stream {@code id} is still open for what this side would send. */
    boolean canSend(int id) {
      Http2Stream s = connection().stream(id);
      return s != null && (s.state() == Http2Stream.State.OPEN || s.state() == Http2Stream.State.HALF_CLOSED_REMOTE);
    }

    /** Whether the peer may still send on stream {@code id}. */
    boolean peerMaySend(int id) {
      Http2Stream s = connection().stream(id);
      return s != null && (s.state() == Http2Stream.State.OPEN || s.state() == Http2Stream.State.HALF_CLOSED_LOCAL);
    }

    void reset(int id, Http2Error error) {
      if (connection().stream(id) != null) {
        resetStream(ctx, id, error.code(), ctx.newPromise());
        flushSoon();
      }
    }
  }

  /** A caller's connection to the proxy port. */
  private final class Caller extends Connection {
    Caller(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
      super(decoder, encoder, settings);
      Http2RemoteFlowController out = encoder.flowController();
      out.listener(stream -> {
        FrameCall call = calls.get(stream.id());
        if (call != null) {
          call.drainSoon(); // not from inside the flow controller
        }
      });
    }

    /**
     * Whether stream {@code id}, with {@code unwritten} bytes handed to it and not yet written, takes
     * another frame now: its own window has room beyond them, the connection's window is open, and the
     * socket's buffer has room. Not Netty's {@code isWritable(stream)}, which also counts every other
     * stream's unsent bytes against the connection: a few calls whose callers stopped reading would
     * stop those that read.
     */
    boolean takes(int id, int unwritten) {
      Http2Stream s = connection().stream(id);
      Http2RemoteFlowController out = encoder().flowController();
      return s != null && ctx.channel().isWritable() && out.windowSize(s) > unwritten && out.windowSize(connection().connectionStream()) > 0;
    }

    /** The caller's window grew ({@code id} 0: the connection's), or its socket takes more: what waits for it goes on. */
    void windowGrew(int id) {
      if (id != 0) {
        FrameCall call = calls.get(id);
        if (call != null) {
          call.drainSoon();
        }
        return;
      }
      calls.forEach((streamId, call) -> call.drainSoon());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
      super.channelWritabilityChanged(ctx);
      if (ctx.channel().isWritable()) {
        windowGrew(0);
      }
    }

    @Override
    void streamClosed(FrameCall call, Http2Stream stream) {
      call.callerStreamClosed();
    }

    /** Something came from the caller since the last look: it is alive. */
    private boolean heard;
    /** A keepalive PING is out and not answered yet. */
    private boolean pinged;
    private java.util.concurrent.ScheduledFuture<?> keepAlive;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
      heard = true;
      super.channelRead(ctx, msg);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
      super.handlerAdded(ctx);
      long every = BrokerServer.KEEPALIVE.toNanos();
      keepAlive = ctx.executor().scheduleWithFixedDelay(this::keepAlive, every, every, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      keepAlive.cancel(false);
      super.channelInactive(ctx);
    }

    /**
     * As the API address's grpc-java server does: a connection silent for {@link BrokerServer#KEEPALIVE}
     * gets a PING, and is closed when no answer came within {@link BrokerServer#KEEPALIVE_TIMEOUT} (a
     * caller that vanished without closing it), ending its calls.
     */
    private void keepAlive() {
      if (heard) {
        heard = false;
        return;
      }
      if (pinged) {
        return;
      }
      pinged = true;
      encoder().writePing(ctx, false, System.nanoTime(), ctx.newPromise());
      flush(ctx);
      ctx.executor().schedule(() -> {
        if (pinged && !heard) {
          log.debug("Broker {}: closing the proxy-port connection of {}: no answer to a keepalive ping", brokerId, ctx.channel().remoteAddress());
          gracefulShutdownTimeoutMillis(0);
          ctx.channel().close();
        }
      }, BrokerServer.KEEPALIVE_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
    }

    void pingAnswered() {
      pinged = false;
    }
  }

  private final class CallerBuilder extends AbstractHttp2ConnectionHandlerBuilder<Caller, CallerBuilder> {
    CallerBuilder() {
      connection(FrameProxy.connection(true)); // a server's
      initialSettings(settings());
      frameListener(new CallerFrames());
      gracefulShutdownTimeoutMillis(-1); // a graceful shutdown waits for the calls; shutdownNow decides how long
      decoderEnforceMaxRstFramesPerWindow(BrokerServer.MAX_RESETS, BrokerServer.RESET_WINDOW_SECONDS);
      // the resets the broker sends a caller (a frame for a stream it reset, as grpc-java's clients send after a cancel): the same bound
      encoderEnforceMaxRstFramesPerWindow(BrokerServer.MAX_RESETS, BrokerServer.RESET_WINDOW_SECONDS);
    }

    Caller make() {
      return build();
    }

    @Override
    protected Caller build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
      return new Caller(decoder, encoder, settings);
    }
  }

  /** A connection from this broker to one instance address (or to the fallback), on one network thread. */
  private final class Upstream {
    /** The address as it is named in messages and in {@code :authority}; null for the fallback. */
    final String name;
    final InetSocketAddress socket;
    final EventLoop loop;
    Channel channel;
    Instance handler;
    private boolean active;
    private boolean closed;
    private boolean retired;
    /** Calls waiting for the connection to be made. */
    private final List<FrameCall> waiting = new ArrayList<>();
    /** Request bytes held for a retry by the calls on this connection, bounded as grpc-java's retry buffer per channel is. */
    long retryHeld;
    final long retryBudget = Math.max(ServiceProxy.RETRY_BUFFER_PER_CALL, ServiceProxy.RETRY_BUFFER_PER_ADDRESS / loops.size());

    Upstream(String name, InetSocketAddress socket, EventLoop loop) {
      this.name = name;
      this.socket = socket;
      this.loop = loop;
    }

    boolean usable() {
      return !closed && !retired && (handler == null || !handler.connection().goAwayReceived());
    }

    void connect() {
      if (!socket.isUnresolved()) {
        connectTo(socket);
        return;
      }
      try {
        lookups.execute(() -> {
          InetSocketAddress found = new InetSocketAddress(socket.getHostString(), socket.getPort());
          try {
            loop.execute(() -> connectTo(found));
          } catch (java.util.concurrent.RejectedExecutionException stopped) {
            // the network thread is gone, and the calls that waited on it with it
          }
        });
      } catch (java.util.concurrent.RejectedExecutionException e) {
        connectTo(socket); // stopping: fails below
      }
    }

    private void connectTo(InetSocketAddress to) {
      if (closedNow || to.isUnresolved()) {
        closed = true;
        boolean unresolved = !closedNow;
        try { // after the calls of this turn that chose this connection joined those waiting for it
          loop.execute(() -> failWaiting(unresolved ? "its host name does not resolve" : "the broker is stopping", unresolved));
        } catch (java.util.concurrent.RejectedExecutionException gone) {
          // the network thread is gone, and the calls that waited on it with it
        }
        return;
      }
      ChannelFuture f = new Bootstrap().group(loop).channel(loops.clientChannelType()).option(ChannelOption.TCP_NODELAY, true)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS).handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
              handler = new InstanceBuilder(Upstream.this).make();
              ch.pipeline().addLast(handler);
            }
          }).connect(to);
      channel = f.channel();
      f.addListener((ChannelFutureListener) done -> {
        if (done.isSuccess() && !closedNow) {
          active = true;
          List<FrameCall> ready = List.copyOf(waiting);
          waiting.clear();
          ready.forEach(c -> c.open(this));
          handler.flushSoon();
          if (retired) {
            channel.close(); // retired while it was being made: closes once the calls that waited for it ended
          }
        } else {
          closeNow(); // made as the broker stopped: closed here, as shutdownNow may have looked before it was
          closed = true;
          failWaiting(done.cause() == null ? "the broker is stopping" : done.cause().getMessage(), done.cause() != null && !closedNow);
        }
      });
      channel.closeFuture().addListener(x -> closed = true);
    }

    /** The calls waiting for this connection fail UNAVAILABLE; {@code instanceFailed}: it counts toward the instance's ejection. */
    private void failWaiting(String reason, boolean instanceFailed) {
      String why = "broker " + brokerId + " cannot connect to " + (name == null ? "its own proxy server" : "instance address " + name) + ": "
          + reason;
      List<FrameCall> ready = List.copyOf(waiting);
      waiting.clear();
      ready.forEach(c -> c.attemptFailed(this, false, instanceFailed, why));
    }

    void start(FrameCall call) {
      if (active) {
        call.open(this);
      } else {
        waiting.add(call);
      }
    }

    /** On its thread: the connection closes now, its calls with it. */
    void closeNow() {
      if (handler != null) {
        handler.gracefulShutdownTimeoutMillis(0);
      }
      if (channel != null) {
        channel.close();
      }
    }

    /** No new call goes here; the connection closes once the calls on it ended. */
    void retire() {
      retired = true;
      if (channel != null) {
        channel.close(); // Http2ConnectionHandler.close: GOAWAY, and waits for the streams open
      }
    }
  }

  /** The broker's side of a connection to an instance. */
  private final class Instance extends Connection {
    final Upstream upstream;

    Instance(Upstream upstream, Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
      super(decoder, encoder, settings);
      this.upstream = upstream;
    }

    @Override
    void streamClosed(FrameCall call, Http2Stream stream) {
      call.instanceStreamClosed(upstream, stream.id());
    }

    /** Through the encoder, which drops a stream still waiting for a place under the instance's stream limit before it is sent. */
    @Override
    void reset(int id, Http2Error error) {
      if (connection().stream(id) != null || id > connection().local().lastStreamCreated()) {
        encoder().writeRstStream(ctx, id, error.code(), ctx.newPromise());
        flushSoon();
      }
    }
  }

  private final class InstanceBuilder extends AbstractHttp2ConnectionHandlerBuilder<Instance, InstanceBuilder> {
    private final Upstream upstream;

    InstanceBuilder(Upstream upstream) {
      this.upstream = upstream;
      connection(FrameProxy.connection(false)); // a client's
      initialSettings(settings().pushEnabled(false));
      frameListener(new InstanceFrames());
      gracefulShutdownTimeoutMillis(-1); // a retired connection closes once its calls ended
      // calls beyond the instance's SETTINGS_MAX_CONCURRENT_STREAMS wait for a place, as on grpc-java's channels, not refused
      encoderEnforceMaxConcurrentStreams(true);
      encoderEnforceMaxRstFramesPerWindow(0, 0); // each reset to an instance is a caller's cancel, bounded on the caller's connection
    }

    Instance make() {
      return build();
    }

    @Override
    protected Instance build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
      return new Instance(upstream, decoder, encoder, settings);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Frames

  /** What callers send. */
  private final class CallerFrames extends Http2FrameAdapter {
    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers, int padding, boolean endStream) {
      Caller caller = (Caller) ctx.handler();
      FrameCall call = caller.calls.get(id);
      if (call != null) {
        call.callerTrailers(); // gRPC requests have no trailers: ends the request
        return;
      }
      call = route(caller, id, headers, endStream);
      caller.calls.put(id, call);
      call.begin();
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers, int dependency, short weight, boolean exclusive,
        int padding, boolean endStream) {
      onHeadersRead(ctx, id, headers, padding, endStream);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int id, ByteBuf data, int padding, boolean endOfStream) {
      FrameCall call = ((Caller) ctx.handler()).calls.get(id);
      return call == null ? data.readableBytes() + padding : call.fromCaller(data, padding, endOfStream);
    }

    @Override
    public void onPingAckRead(ChannelHandlerContext ctx, long data) {
      ((Caller) ctx.handler()).pingAnswered();
    }

    @Override
    public void onWindowUpdateRead(ChannelHandlerContext ctx, int id, int increment) {
      ((Caller) ctx.handler()).windowGrew(id);
    }
  }

  /** What instances send. */
  private final class InstanceFrames extends Http2FrameAdapter {
    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers, int padding, boolean endStream) {
      FrameCall call = ((Instance) ctx.handler()).calls.get(id);
      if (call != null) {
        call.fromInstanceHeaders(headers, endStream);
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers, int dependency, short weight, boolean exclusive,
        int padding, boolean endStream) {
      onHeadersRead(ctx, id, headers, padding, endStream);
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int id, ByteBuf data, int padding, boolean endOfStream) {
      FrameCall call = ((Instance) ctx.handler()).calls.get(id);
      return call == null ? data.readableBytes() + padding : call.fromInstance(data, padding, endOfStream);
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int id, long errorCode) {
      FrameCall call = ((Instance) ctx.handler()).calls.get(id);
      if (call != null) {
        call.instanceReset(errorCode);
      }
    }
  }

  /** A new call from {@code caller}: carried here to the instance chosen, or handed to the fallback. */
  private FrameCall route(Caller caller, int id, Http2Headers headers, boolean endStream) {
    long now = System.nanoTime();
    CharSequence path = headers.path();
    CharSequence contentType = headers.get(CONTENT_TYPE);
    CharSequence encoding = headers.get(GRPC_ENCODING);
    String grpcService = path == null ? null : serviceOf(path.toString());
    long timeout = timeoutNanos(headers.get(GRPC_TIMEOUT));
    boolean plain = grpcService != null && POST.contentEquals(headers.method()) && contentType != null
        && AsciiString.regionMatches(contentType, false, 0, APPLICATION_GRPC, 0, APPLICATION_GRPC.length())
        && (encoding == null || IDENTITY.contentEquals(encoding)) && timeout != -2 && !path.toString().startsWith(HEALTH_PREFIX);
    if (plain && proxy.takeCallSlot()) {
      CharSequence named = headers.get(SERVICE_HEADER);
      String service = named == null ? null : named.toString();
      ServiceInstance target = proxy.pickOrNull(grpcService, service, null);
      if (target != null) {
        return new FrameCall(caller, id, headers, endStream, now, timeout, grpcService, service, target);
      }
      proxy.releaseCallSlot();
    }
    return new FrameCall(caller, id, headers, endStream, now, timeout, null, null, null);
  }

  /** The gRPC service of a path {@code /package.Service/Method}; null for any other path. */
  static String serviceOf(String path) {
    int slash = path.indexOf('/', 1);
    if (path.length() < 4 || path.charAt(0) != '/' || slash < 2 || slash == path.length() - 1 || path.indexOf('/', slash + 1) >= 0) {
      return null;
    }
    return path.substring(1, slash);
  }

  /** A {@code grpc-timeout} value in nanoseconds: -1 when there is none, -2 when it is malformed. */
  static long timeoutNanos(CharSequence value) {
    if (value == null) {
      return -1;
    }
    int n = value.length();
    if (n < 2 || n > 9) {
      return -2;
    }
    long amount = 0;
    for (int i = 0; i < n - 1; i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return -2;
      }
      amount = amount * 10 + (c - '0');
    }
    TimeUnit unit;
    switch (value.charAt(n - 1)) {
      case 'n' -> unit = TimeUnit.NANOSECONDS;
      case 'u' -> unit = TimeUnit.MICROSECONDS;
      case 'm' -> unit = TimeUnit.MILLISECONDS;
      case 'S' -> unit = TimeUnit.SECONDS;
      case 'M' -> unit = TimeUnit.MINUTES;
      case 'H' -> unit = TimeUnit.HOURS;
      default -> {
        return -2;
      }
    }
    return unit.toNanos(amount);
  }

  /** {@code nanos} as a {@code grpc-timeout} value: at most 8 digits, in the finest unit that holds it (as grpc-java writes it). */
  static String timeoutValue(long nanos) {
    long v = Math.max(1, nanos);
    long cutoff = 100_000_000;
    if (v < cutoff) {
      return v + "n";
    } else if (v < cutoff * 1_000) {
      return TimeUnit.NANOSECONDS.toMicros(v) + "u";
    } else if (v < cutoff * 1_000_000) {
      return TimeUnit.NANOSECONDS.toMillis(v) + "m";
    } else if (v < cutoff * 1_000_000_000L) {
      return TimeUnit.NANOSECONDS.toSeconds(v) + "S";
    } else if (v < cutoff * 1_000_000_000L * 60) {
      return TimeUnit.NANOSECONDS.toMinutes(v) + "M";
    }
    return Math.min(99_999_999, TimeUnit.NANOSECONDS.toHours(v)) + "H";
  }

  /** A status description as {@code grpc-message} carries it: percent-encoded UTF-8 outside printable ASCII. */
  static String percentEncoded(String description) {
    StringBuilder out = new StringBuilder(description.length());
    for (byte b : description.getBytes(StandardCharsets.UTF_8)) {
      if (b >= ' ' && b < 0x7f && b != '%') {
        out.append((char) b);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
            .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
      }
    }
    return out.toString();
  }

  /** The status a trailers block carries (UNKNOWN without a valid {@code grpc-status}), without its description. */
  private static Status statusOf(Http2Headers trailers) {
    CharSequence code = trailers.get(GRPC_STATUS);
    if (code == null) {
      return Status.UNKNOWN;
    }
    int value = 0;
    for (int i = 0; i < code.length(); i++) {
      char c = code.charAt(i);
      if (c < '0' || c > '9' || i > 2) {
        return Status.UNKNOWN;
      }
      value = value * 10 + (c - '0');
    }
    return Status.fromCodeValue(value);
  }

  /**
   * Where the gRPC messages of one direction of a call end, over its DATA frames: each message is a
   * 5-byte prefix (a flag byte, then its length, 4 bytes big-endian) and that many bytes.
   */
  static final class Framing {
    /** Bytes of the current message's prefix read so far, 0 to 4. */
    private int prefixSeen;
    private long length;
    /** Bytes of the current message still to come after its prefix. */
    private long left;

    /** Whether what was read so far ends with a whole message. */
    boolean atBoundary() {
      return prefixSeen == 0 && left == 0;
    }

    /**
     * Reads {@code data} (its reader index unchanged) as the next bytes of the stream, with
     * {@code stopAtEnd} only up to the end of the message they are in; returns how many it read.
     */
    int pass(ByteBuf data, boolean stopAtEnd) {
      int start = data.readerIndex();
      int end = data.writerIndex();
      int i = start;
      while (i < end) {
        if (left > 0) {
          int n = (int) Math.min(left, end - i);
          left -= n;
          i += n;
        } else {
          if (prefixSeen > 0) {
            length = (length << 8) | (data.getByte(i) & 0xff);
          }
          i++;
          if (++prefixSeen < 5) {
            continue;
          }
          left = length;
          length = 0;
          prefixSeen = 0;
        }
        if (stopAtEnd && atBoundary()) {
          break;
        }
      }
      return i - start;
    }
  }

  /** A request DATA frame from the caller: kept until the instance has it (and for a retry, until its answer began). */
  private static final class Chunk {
    /** What a held chunk is counted at beyond its bytes, so that many tiny frames cannot hold much more than the retry buffer says. */
    static final int OVERHEAD = 64;
    /** A frame smaller than this that has to wait for the call to open is gathered with the next ones into one buffer. */
    static final int GATHER = 4096;
    final ByteBuf data;
    int flowBytes;
    boolean given;

    Chunk(ByteBuf data) {
      this.data = data;
      this.flowBytes = data.readableBytes();
    }
  }

  /**
   * One call from a caller's stream to an instance's (or to the fallback). Every method runs on the
   * network thread of the caller's connection, which both connections share, but for
   * {@link #stalledSince}, {@link #endStalled} and {@link #abort}, which hand their work to it.
   */
  private final class FrameCall implements ServiceProxy.Carried {
    private final Caller caller;
    private final int callerId;
    private final Http2Headers request;
    private final long started;
    /** The caller's deadline (System.nanoTime), when {@link #hasDeadline}. */
    private final long deadline;
    private final boolean hasDeadline;
    /** Null when the call goes to the fallback, which counts and routes it itself. */
    private final String grpcService;
    private final String service;
    private final ServiceProxy.ServiceStats stats;
    private ServiceInstance target;
    /** The current attempt's instance health, until the attempt ended. */
    private ServiceProxy.InstanceHealth attempt;
    private Upstream upstream;
    private int upstreamId;
    /** The current attempt's headers were written to the instance's connection: it may have acted on the call. */
    private boolean reached;
    private boolean responseStarted;
    private boolean retried;
    /** Request frames not handed on yet, or kept for a retry while {@link #keepForRetry}. */
    private final List<Chunk> held = new ArrayList<>(2);
    private long heldBytes;
    /** The connection whose retry budget {@link #heldBytes} counts against; null while none does. */
    private Upstream counted;
    private boolean keepForRetry;
    private boolean callerEnded;
    /** The call is over for the caller: answered, or the caller went. */
    private boolean done;
    private boolean released;
    /** Frames written to one side and not yet taken by it. */
    private int writingToCaller;
    private int writingToInstance;
    /** When a side last took a frame while the other still had frames for it; 0 while none waits. */
    private volatile long stallSince;
    /**
     * Response frames the caller's stream cannot take yet, oldest first. They wait here, not in the
     * connection's flow controller, so that a call the broker ends can drop them instead of holding
     * them until its caller reads.
     */
    private final ArrayDeque<ByteBuf> toCaller = new ArrayDeque<>(2);
    /** The last frame of {@link #toCaller} ends the stream (DATA with END_STREAM: not gRPC). */
    private boolean toCallerEnds;
    /** The instance's trailers, waiting behind {@link #toCaller}. */
    private Http2Headers trailersWaiting;
    /** The current attempt's stream waits for a place under the instance's stream limit: its headers are not out yet. */
    private volatile boolean waitingForSlot;
    /** Bytes handed to the caller's connection and not yet written to its socket. */
    private int unwrittenToCaller;
    private boolean drainScheduled;
    /** Where the response's messages end, in what was handed to the caller's connection. */
    private final Framing handedOn = new Framing();
    /** The call's counts were taken ({@link #finish}). */
    private boolean finished;
    private java.util.concurrent.ScheduledFuture<?> deadlineTimer;

    FrameCall(Caller caller, int callerId, Http2Headers request, boolean endStream, long started, long timeoutNanos, String grpcService,
        String service, ServiceInstance target) {
      this.caller = caller;
      this.callerId = callerId;
      this.request = request;
      this.callerEnded = endStream;
      this.started = started;
      this.hasDeadline = timeoutNanos >= 0;
      this.deadline = started + Math.max(0, timeoutNanos);
      this.grpcService = grpcService;
      this.service = service;
      this.target = target;
      this.stats = grpcService == null ? null : proxy.statsFor(grpcService);
      this.keepForRetry = grpcService != null;
    }

    private boolean viaFallback() {
      return grpcService == null;
    }

    void begin() {
      int index = loops.current();
      if (viaFallback()) {
        fallbackOn(caller.ctx.channel().eventLoop(), index).start(this);
        return;
      }
      stats.inFlight.incrementAndGet();
      proxy.open().add(this);
      if (hasDeadline) {
        deadlineTimer = caller.ctx.executor().schedule(this::deadlinePassed, deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      }
      attempt(target);
    }

    /** As a gRPC server does: at the caller's deadline the call ends DEADLINE_EXCEEDED, whatever the caller and the instance do. */
    private void deadlinePassed() {
      if (done && toCaller.isEmpty()) {
        return; // answered, and nothing of it waits for the caller
      }
      Status status = Status.DEADLINE_EXCEEDED.withDescription("the call's deadline passed at broker " + brokerId + ", "
          + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) + " ms after it arrived (" + peerName(upstream) + ")");
      over(waitingForSlot ? null : status, status, reached); // waiting for the instance's stream limit says nothing of its health
      answer(status);
      cancelInstanceSide(Http2Error.CANCEL);
      releaseHeld();
    }

    private void attempt(ServiceInstance instance) {
      target = instance;
      attempt = proxy.healthOf(instance); // pick() took one of its slots for this attempt
      reached = false;
      waitingForSlot = false;
      upstreamTo(instance, caller.ctx.channel().eventLoop(), loops.current()).start(this);
    }

    /** The connection is made: the call's headers go out, and what the caller sent so far. */
    void open(Upstream on) {
      if (done) {
        return;
      }
      Instance h = on.handler;
      int id = h.connection().local().incrementAndGetNextStreamId();
      if (id < 0 || !on.usable()) {
        attemptFailed(on, false, false, "the connection to " + on.name + " takes no new call");
        return;
      }
      upstream = on;
      upstreamId = id;
      h.calls.put(id, this);
      Http2Headers headers = viaFallback() ? forFallback() : forInstance();
      boolean endNow = callerEnded && held.isEmpty();
      h.encoder().writeHeaders(h.ctx, id, headers, 0, endNow, h.ctx.newPromise().addListener((ChannelFutureListener) f -> {
        if (upstream == on && upstreamId == id) {
          waitingForSlot = false;
        }
        if (f.isSuccess()) {
          if (upstream == on && upstreamId == id) {
            reached = true;
          }
        } else if (upstream == on && upstreamId == id && !done && !responseStarted) {
          attemptFailed(on, false, false, "the call could not be sent to " + (on.name == null ? "the broker's proxy server" : on.name) + ": "
              + f.cause().getMessage());
        }
      }));
      if (upstream != on || upstreamId != id || done) {
        return; // the write failed at once (the instance's stream limit, its header limit) and the call moved on, or ended
      }
      waitingForSlot = !reached && id > h.connection().local().lastStreamCreated(); // buffered by the encoder until a stream closes
      for (int i = 0; i < held.size(); i++) {
        writeToInstance(held.get(i), callerEnded && i == held.size() - 1);
      }
      if (keepForRetry) {
        counted = on;
        on.retryHeld += heldBytes;
        if (on.retryHeld > on.retryBudget) {
          stopKeeping();
        }
      } else {
        held.clear(); // handed on: the writes own them now
      }
      h.flushSoon();
    }

    /** The caller's headers, unchanged but for {@code grpc-timeout}: the time left. */
    private Http2Headers forFallback() {
      if (hasDeadline) {
        request.set(GRPC_TIMEOUT, timeoutValue(deadline - System.nanoTime()));
      }
      return request;
    }

    /** The caller's headers for the instance: its address as {@code :authority}, the time left, no {@code linkbridge-*} header. */
    private Http2Headers forInstance() {
      Http2Headers out = new DefaultHttp2Headers(false, request.size());
      String host = target.host().indexOf(':') >= 0 ? "[" + target.host() + "]" : target.host();
      out.method(POST).scheme(HTTP).path(request.path()).authority(host + ":" + target.port());
      for (Map.Entry<CharSequence, CharSequence> e : request) {
        CharSequence name = e.getKey();
        if (name.length() == 0 || name.charAt(0) == ':' || AsciiString.contentEquals(name, GRPC_TIMEOUT)
            || AsciiString.regionMatches(name, false, 0, "linkbridge-", 0, 11)) {
          continue;
        }
        out.add(name, e.getValue());
      }
      if (hasDeadline) {
        out.set(GRPC_TIMEOUT, timeoutValue(deadline - System.nanoTime()));
      }
      return out;
    }

    /** Writes one request frame to the current attempt; the caller gets its bytes back once the instance's connection took it. */
    private void writeToInstance(Chunk chunk, boolean end) {
      Instance h = upstream.handler;
      ByteBuf data = keepForRetry ? chunk.data.retainedDuplicate() : chunk.data;
      waiting(true, 1);
      h.encoder().writeData(h.ctx, upstreamId, data, 0, end, h.ctx.newPromise().addListener((ChannelFutureListener) f -> {
        waiting(true, -1);
        if (f.isSuccess() && !chunk.given) {
          chunk.given = true;
          caller.consumed(callerId, chunk.flowBytes);
        }
      }));
    }

    int fromCaller(ByteBuf data, int padding, boolean end) {
      if (done) {
        return data.readableBytes() + padding;
      }
      callerEnded |= end;
      boolean opened = upstream != null && upstream.handler.calls.get(upstreamId) == this;
      int n = data.readableBytes();
      Chunk last = held.isEmpty() ? null : held.get(held.size() - 1);
      if (!opened && last != null && !last.given && last.data.writableBytes() >= n) { // waits for the call to open: gathered with the frame before
        last.data.writeBytes(data, data.readerIndex(), n);
        last.flowBytes += n; // held bytes counted the chunk's whole capacity already
        return padding;
      }
      // kept for a retry, or until the call opens: a copy of its own
      Chunk chunk = new Chunk(opened && !keepForRetry ? upstream.handler.toPassOn(upstreamId, data)
          : opened ? data.copy() : data.alloc().buffer(Math.max(n, Chunk.GATHER)).writeBytes(data, data.readerIndex(), n));
      if (opened) {
        writeToInstance(chunk, end);
        upstream.handler.flushSoon();
      }
      if (!opened || keepForRetry) {
        held.add(chunk);
        if (keepForRetry) {
          long cost = chunk.data.capacity() + Chunk.OVERHEAD;
          heldBytes += cost;
          if (counted != null) {
            counted.retryHeld += cost;
          }
          if (heldBytes > ServiceProxy.RETRY_BUFFER_PER_CALL || (counted != null && counted.retryHeld > counted.retryBudget)) {
            stopKeeping(); // too much to hold: this call is not retried
          }
        }
      }
      return padding;
    }

    void callerTrailers() {
      if (done || callerEnded) {
        return;
      }
      fromCaller(Unpooled.EMPTY_BUFFER, 0, true);
    }

    /** No retry from here on: what was handed on is let go (what was not is still written once the call opens). */
    private void stopKeeping() {
      if (!keepForRetry) {
        return;
      }
      keepForRetry = false;
      boolean opened = upstream != null && upstream.handler.calls.get(upstreamId) == this;
      uncount();
      if (opened) {
        held.forEach(c -> c.data.release());
        held.clear();
      }
    }

    private void uncount() {
      if (counted != null) {
        counted.retryHeld -= heldBytes;
        counted = null;
      }
      heldBytes = 0;
    }

    private void releaseHeld() {
      uncount();
      keepForRetry = false;
      held.forEach(c -> c.data.release());
      held.clear();
    }

    void fromInstanceHeaders(Http2Headers headers, boolean end) {
      if (done) {
        return;
      }
      boolean first = !responseStarted;
      responseStarted = true;
      if (first) {
        stopKeeping(); // the instance answered: never sent again
      }
      if (!end) {
        if (first) {
          caller.encoder().writeHeaders(caller.ctx, callerId, headers, 0, false, caller.ctx.newPromise());
          caller.flushSoon();
        }
        return; // headers after the first that do not end the stream: not gRPC, dropped
      }
      Status status = statusOf(headers);
      over(status, status, true);
      answer(headers);
      if (upstream.handler.canSend(upstreamId)) {
        upstream.handler.reset(upstreamId, Http2Error.CANCEL); // the instance ended first: what the caller still sends is not wanted
      }
    }

    /** The instance's side of the call ends now, with {@code error}, if it is still open. */
    private void cancelInstanceSide(Http2Error error) {
      if (upstream != null && upstream.handler.calls.remove(upstreamId) == this) {
        upstream.handler.reset(upstreamId, error);
      }
    }

    /** A DATA frame from the instance: passed on as it came when the caller's stream takes it, else kept until it does. */
    int fromInstance(ByteBuf data, int padding, boolean end) {
      if (done) {
        return data.readableBytes() + padding;
      }
      if (!responseStarted) {
        Status status = Status.INTERNAL.withDescription(peerName(upstream) + " sent response data before its response headers");
        over(status, status, true);
        answer(status);
        cancelInstanceSide(Http2Error.PROTOCOL_ERROR);
        return data.readableBytes() + padding;
      }
      waiting(false, 1);
      if (toCaller.isEmpty() && caller.takes(callerId, unwrittenToCaller)) {
        handOn(data.retain(), end);
      } else {
        toCaller.add(data.copy()); // what waits holds its own bytes, not the whole buffer the frame was read into
        toCallerEnds = end;
      }
      if (end) { // DATA that ends the stream: no trailers, not gRPC; the caller's side reports it
        over(Status.UNKNOWN, Status.UNKNOWN, true);
      }
      return padding;
    }

    /** On the caller's thread, once the current task is over: {@link #drainToCaller}, if anything waits. */
    void drainSoon() {
      if (!drainScheduled && (!toCaller.isEmpty() || trailersWaiting != null)) {
        drainScheduled = true;
        caller.ctx.executor().execute(this::drainToCaller);
      }
    }

    /** On the caller's thread, when its stream may take more: what waits for it goes on, as far as it takes it. */
    private void drainToCaller() {
      drainScheduled = false;
      while (!toCaller.isEmpty() && caller.takes(callerId, unwrittenToCaller)) {
        ByteBuf next = toCaller.poll();
        handOn(next, toCallerEnds && toCaller.isEmpty());
      }
      if (toCaller.isEmpty()) {
        if (trailersWaiting != null) {
          Http2Headers trailers = trailersWaiting;
          trailersWaiting = null;
          answer(trailers);
        }
        if (done) {
          leave();
        }
      }
    }

    private void handOn(ByteBuf data, boolean end) {
      handedOn.pass(data, false);
      writeToCaller(data, end);
    }

    /** One DATA frame to the caller's connection, counted as waiting; the instance gets its bytes back once the connection took it. */
    private void writeToCaller(ByteBuf data, boolean end) {
      Instance from = upstream.handler;
      int id = upstreamId;
      int bytes = data.readableBytes();
      unwrittenToCaller += bytes;
      caller.encoder().writeData(caller.ctx, callerId, data, 0, end, caller.ctx.newPromise()
          .addListener((ChannelFutureListener) f -> {
            unwrittenToCaller -= bytes;
            waiting(false, -1);
            from.consumed(id, bytes);
            drainSoon();
          }));
      caller.flushSoon();
    }

    /**
     * Before the broker's own answer: of what waits for the caller, the rest of the message the
     * caller is in goes on and the rest is dropped, so that the answer follows a whole message.
     * False when that message never came whole from the instance: the stream cannot end cleanly.
     */
    private boolean cutToCaller() {
      while (!toCaller.isEmpty()) {
        ByteBuf next = toCaller.poll();
        if (handedOn.atBoundary()) {
          next.release();
          waiting(false, -1);
          continue;
        }
        int n = handedOn.pass(next, true);
        if (n < next.readableBytes()) {
          ByteBuf part = next.retainedSlice(next.readerIndex(), n);
          next.release();
          next = part;
        }
        writeToCaller(next, false);
      }
      trailersWaiting = null;
      return handedOn.atBoundary();
    }

    /** What waits for the caller is let go: its stream ended. */
    private void dropToCaller() {
      for (ByteBuf b = toCaller.poll(); b != null; b = toCaller.poll()) {
        b.release();
        waiting(false, -1);
      }
      trailersWaiting = null;
    }

    void instanceReset(long code) {
      if (done) {
        return;
      }
      Instance from = upstream.handler;
      from.calls.remove(upstreamId); // the close that follows is this reset
      String peer = peerName(upstream);
      if (code == Http2Error.REFUSED_STREAM.code() && !responseStarted) {
        attemptFailed(upstream, false, false, peer + " refused the call (RST_STREAM REFUSED_STREAM)");
        return;
      }
      Status status = code == Http2Error.CANCEL.code()
          ? Status.CANCELLED.withDescription(peer + " cancelled the call")
          : Status.INTERNAL.withDescription(peer + " reset the call: HTTP/2 error "
              + (Http2Error.valueOf(code) == null ? String.valueOf(code) : Http2Error.valueOf(code).name()));
      over(status, status, true);
      answer(status);
    }

    /** The instance's stream closed without trailers: its connection ended, or it was above the instance's GOAWAY. */
    void instanceStreamClosed(Upstream on, int id) {
      if (done || upstream != on || upstreamId != id) {
        return;
      }
      Http2Connection c = on.handler.connection();
      boolean unseen = c.goAwayReceived() && id > c.local().lastStreamKnownByPeer();
      attemptFailed(on, reached && !unseen, !unseen, "the connection to " + peerName(on) + " closed before the call ended");
    }

    /** The other end of this call's current attempt, as messages name it. */
    private String peerName(Upstream on) {
      return viaFallback() ? "the broker's proxy server"
          : "instance " + target.service() + "/" + target.id() + " (" + (on == null ? target.host() + ":" + target.port() : on.name) + ")";
    }

    /**
     * The current attempt ended UNAVAILABLE ({@code seen}: the instance may have acted on it;
     * {@code instanceFailed}: the instance or its address failed, which counts toward its ejection,
     * rather than the broker's connection refusing the call, as grpc-java's channel would have). One
     * the instance never saw goes once to another instance, while what the caller sent is still held.
     */
    void attemptFailed(Upstream on, boolean seen, boolean instanceFailed, String why) {
      if (done) {
        return;
      }
      if (upstream == on && upstream.handler != null) {
        upstream.handler.calls.remove(upstreamId);
      }
      Status status = Status.UNAVAILABLE.withDescription(why);
      if (viaFallback()) {
        done = true;
        answer(status);
        releaseHeld();
        return;
      }
      ServiceInstance failed = target;
      endAttempt(instanceFailed ? status : null, seen);
      if (!seen && !retried && keepForRetry && !responseStarted) {
        ServiceInstance next = proxy.pickOrNull(grpcService, service, failed);
        if (next != null) {
          retried = true;
          log.debug("Call {} to {}/{} never reached it ({}); trying {}/{}", request.path(), failed.service(), failed.id(), why,
              next.service(), next.id());
          if (counted != null) {
            counted.retryHeld -= heldBytes; // counted again where the retry goes, once it opens
            counted = null;
          }
          upstream = null;
          attempt(next);
          return;
        }
      }
      finish(status);
      answer(status);
    }

    /** The caller's stream closed: after its answer, or because the caller cancelled, or its connection ended. */
    void callerStreamClosed() {
      if (!done) {
        boolean expired = hasDeadline && System.nanoTime() - deadline >= 0;
        Status status = expired ? Status.DEADLINE_EXCEEDED : Status.CANCELLED;
        over(waitingForSlot ? null : status, status, reached);
      }
      cancelInstanceSide(Http2Error.CANCEL); // also an instance stream the instance ended without trailers
      dropToCaller();
      leave();
      releaseHeld();
      if (deadlineTimer != null) {
        deadlineTimer.cancel(false);
      }
      if (!viaFallback() && !released) {
        released = true;
        proxy.releaseCallSlot();
      }
    }

    /** The call is over: the attempt ends with {@code attemptStatus}, the call's counts with {@code status}. */
    private void over(Status attemptStatus, Status status, boolean seen) {
      if (!viaFallback()) {
        endAttempt(attemptStatus, seen);
        finish(status);
      }
      done = true;
    }

    /** The current attempt ended with {@code status}; null: for a reason that says nothing of the instance (not counted toward ejection). */
    private void endAttempt(Status status, boolean seen) {
      if (attempt != null) {
        attempt.inFlight.decrementAndGet();
        if (status != null) {
          attempt.ended(target, status, seen);
        }
        attempt = null;
      }
    }

    private void finish(Status status) {
      if (stats != null && !finished) {
        finished = true;
        stats.inFlight.decrementAndGet();
        stats.ended(started, status);
      }
      done = true;
      if (toCaller.isEmpty()) {
        leave();
      } // else the call stays open for the stall bound and the close until what waits for its caller went on
    }

    /** Out of the proxy's open calls: nothing of it waits in the broker any more (but a frame on its way). */
    private void leave() {
      if (!viaFallback()) {
        proxy.open().remove(this);
      }
      stallSince = 0;
    }

    /**
     * Answers the caller with {@code status}, after the message it is reading; what waits behind
     * that is dropped. When that message cannot be completed, the caller's stream is reset instead
     * ({@code ENHANCE_YOUR_CALM}, which gRPC reports as RESOURCE_EXHAUSTED, for the stall bound;
     * {@code CANCEL} otherwise).
     */
    private void answer(Status status) {
      done = true;
      boolean whole = cutToCaller();
      leave();
      if (!whole) {
        caller.reset(callerId, status.getCode() == Status.Code.RESOURCE_EXHAUSTED ? Http2Error.ENHANCE_YOUR_CALM : Http2Error.CANCEL);
        return;
      }
      Http2Headers trailers = new DefaultHttp2Headers(false, 4);
      if (!responseStarted) {
        trailers.status(STATUS_200).set(CONTENT_TYPE, APPLICATION_GRPC);
      }
      trailers.setInt(GRPC_STATUS, status.getCode().value());
      if (status.getDescription() != null) {
        trailers.set(GRPC_MESSAGE, percentEncoded(status.getDescription()));
      }
      answer(trailers);
    }

    /** Ends the caller's stream with {@code trailers}; once they are written, a caller still sending is told to stop. */
    private void answer(Http2Headers trailers) {
      done = true;
      if (!toCaller.isEmpty()) {
        trailersWaiting = trailers;
        return;
      }
      if (!caller.canSend(callerId)) {
        return;
      }
      caller.encoder().writeHeaders(caller.ctx, callerId, trailers, 0, true, caller.ctx.newPromise()
          .addListener((ChannelFutureListener) f -> {
            if (caller.peerMaySend(callerId)) {
              caller.reset(callerId, Http2Error.NO_ERROR);
            }
          }));
      caller.flushSoon();
    }

    /** Under the caller's thread: one more ({@code +1}) or one fewer ({@code -1}) frame written and not taken yet. */
    private void waiting(boolean toInstance, int change) {
      if (toInstance) {
        writingToInstance += change;
      } else {
        writingToCaller += change;
      }
      if (writingToInstance == 0 && writingToCaller == 0) {
        stallSince = 0;
      } else if (change < 0 || stallSince == 0) {
        stallSince = System.nanoTime() | 1; // a frame was taken: the stall, if any, starts again from now
      }
    }

    @Override
    public long stalledSince() {
      return waitingForSlot ? 0 : stallSince; // waiting for the instance's stream limit, with nothing from it yet, is not a stall
    }

    @Override
    public boolean endStalled(long since, long now, long limit) {
      if (stallSince != since) {
        return false;
      }
      caller.ctx.executor().execute(() -> {
        if ((!done || !toCaller.isEmpty()) && stallSince == since) {
          abortNow(proxy.stalledStatus(writingToCaller > 0, now - since, limit));
        }
      });
      return true;
    }

    @Override
    public void abort(Status status) {
      caller.ctx.executor().execute(() -> abortNow(status));
    }

    /** Ends the call, or what of its answer still waits in the broker for its caller (it did not read all of it: not OK). */
    private void abortNow(Status status) {
      if (done && toCaller.isEmpty()) {
        return; // answered: nothing of it waits here
      }
      over(Status.CANCELLED, status, true); // says nothing of the instance
      answer(status);
      cancelInstanceSide(Http2Error.CANCEL);
      releaseHeld();
    }

    @Override
    public String toString() {
      return "FrameCall{" + request.path() + " -> " + (target == null ? "fallback" : target.service() + "/" + target.id()) + "}";
    }
  }
}
