package io.linkbridge.grpc;

import io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2CodecUtil;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionHandlerBuilder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2FrameAdapter;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Headers;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Settings;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bare HTTP/2 client for what a grpc-java client never sends: oversized headers, a
 * {@code grpc-timeout} it does not enforce itself. Each frame it receives is recorded as a line:
 * {@code "<stream> headers <:status> <grpc-status>"}, {@code "<stream> reset <code>"}, or
 * {@code "goaway <code>"}.
 */
final class RawHttp2Client implements AutoCloseable {
  final BlockingQueue<String> frames = new LinkedBlockingQueue<>();
  /** Streams whose data this client keeps unread: it gives none of their window back. */
  private final java.util.Set<Integer> stalled = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Http2ConnectionHandler h2;
  private final Channel channel;
  private final String authority;

  RawHttp2Client(String authority) throws InterruptedException {
    this(authority, Http2CodecUtil.DEFAULT_WINDOW_SIZE);
  }

  /** A client that gives each stream {@code streamWindow} bytes of window (the connection keeps HTTP/2's 64 KiB). */
  RawHttp2Client(String authority, int streamWindow) throws InterruptedException {
    this.authority = authority;
    h2 = new Http2ConnectionHandlerBuilder().server(false).gracefulShutdownTimeoutMillis(0).initialSettings(new Http2Settings().initialWindowSize(streamWindow)).encoderIgnoreMaxHeaderListSize(true).frameListener(new Http2FrameAdapter() {
      @Override
      public void onHeadersRead(ChannelHandlerContext ctx, int id, Http2Headers headers, int dependency, short weight, boolean exclusive,
          int padding, boolean end) {
        frames.add(id + " headers " + headers.status() + " " + headers.get("grpc-status"));
      }

      @Override
      public int onDataRead(ChannelHandlerContext ctx, int id, ByteBuf data, int padding, boolean end) {
        return stalled.contains(id) ? 0 : data.readableBytes() + padding;
      }

      @Override
      public void onRstStreamRead(ChannelHandlerContext ctx, int id, long errorCode) {
        frames.add(id + " reset " + errorCode);
      }

      @Override
      public void onGoAwayRead(ChannelHandlerContext ctx, int lastStreamId, long errorCode, ByteBuf debugData) {
        frames.add("goaway " + errorCode);
      }
    }).build();
    String[] hostPort = authority.split(":");
    channel = new Bootstrap().group(group).channel(NioSocketChannel.class).handler(h2)
        .connect(hostPort[0], Integer.parseInt(hostPort[1])).sync().channel();
  }

  /** Sends a gRPC request on stream {@code id} to {@code path} with the {@code extra} headers and one message, {@code text}. */
  void call(int id, String path, Map<String, String> extra, String text) {
    channel.eventLoop().execute(() -> {
      ChannelHandlerContext ctx = channel.pipeline().context(h2);
      Http2Headers headers = new DefaultHttp2Headers().method("POST").scheme("http").path(path).authority(authority)
          .set("content-type", "application/grpc").set("te", "trailers");
      extra.forEach(headers::set);
      h2.encoder().writeHeaders(ctx, id, headers, 0, false, ctx.newPromise());
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      h2.encoder().writeData(ctx, id, Unpooled.buffer().writeByte(0).writeInt(bytes.length).writeBytes(bytes), 0, true, ctx.newPromise());
      h2.flush(ctx);
    });
  }

  /** From now on, the data of stream {@code id} is kept unread. */
  void stall(int id) {
    stalled.add(id);
  }

  /** Whether {@code line} was received and not taken by {@link #next}. */
  boolean saw(String line) {
    return frames.contains(line);
  }

  /** The next frame received within {@code seconds}, as a line; null when none came. */
  String next(int seconds) throws InterruptedException {
    return frames.poll(seconds, TimeUnit.SECONDS);
  }

  boolean isOpen() {
    return channel.isActive();
  }

  @Override
  public void close() {
    try {
      channel.close().awaitUninterruptibly();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }
}
